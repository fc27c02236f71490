//! Liveness and readiness probes for orchestrators and load balancers.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::error::{ApiError, Problems, status};
use crate::service::AppState;

pub struct OpsApi;

/// The process is running.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
}

/// Every dependency answered.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Readiness {
    /// `ready` when every dependency answered.
    pub status: String,
    /// `ok`.
    pub database: String,
    /// `ok`, or `in_process` when no Redis is configured.
    pub redis: String,
}

impl Example for Health {
    fn example() -> Self {
        Health { status: "ok".into() }
    }
}

impl Example for Readiness {
    fn example() -> Self {
        Readiness { status: "ready".into(), database: "ok".into(), redis: "ok".into() }
    }
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness
    ///
    /// Answers 200 while the process is running. It checks nothing else, so an orchestrator does
    /// not restart instances because a database is briefly away.
    #[oai(path = "/healthz", method = "get", operation_id = "getHealth")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health { status: "ok".into() })
    }

    /// Readiness
    ///
    /// Answers 200 when the database (and Redis, when configured) answer; 503 otherwise, so a
    /// load balancer sends traffic elsewhere.
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(&self, state: Data<&AppState>) -> Result<Json<Readiness>, Problems<{ status::ALWAYS }>> {
        if let Err(error) = state.store.ping().await {
            tracing::warn!(%error, "readiness: database unavailable");
            return Err(ApiError::Unavailable.into());
        }
        if let Err(error) = state.limiter.ping().await {
            tracing::warn!(%error, "readiness: redis unavailable");
            return Err(ApiError::Unavailable.into());
        }
        Ok(Json(Readiness {
            status: "ready".into(),
            database: "ok".into(),
            redis: if state.limiter.is_shared() { "ok" } else { "in_process" }.into(),
        }))
    }
}
