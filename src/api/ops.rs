//! Liveness and readiness probes for orchestrators and load balancers.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::error::{ApiError, Problems, status};
use super::outage::{DatabaseOutage, PING_WITHIN};
use crate::coordination::DependencyState;
use crate::service::AppState;

pub struct OpsApi;

/// The process is running.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
}

/// The database answered; how each dependency is doing.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Readiness {
    /// `ready` when every dependency answered; `degraded` when Redis did not (the API works
    /// without it: rate limits are counted per instance and wake-ups stay local meanwhile).
    pub status: String,
    /// `ok`.
    pub database: String,
    /// `ok`, `unavailable`, or `in_process` when no Redis is configured.
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
    /// Answers 200 when the database answers, and names the state of each dependency: Redis
    /// being away degrades the service (`status` is `degraded`) but does not stop it, so a load
    /// balancer keeps the instance. 503 when the database does not answer. Answers within a
    /// second either way.
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(
        &self,
        state: Data<&AppState>,
        outage: Data<&Arc<DatabaseOutage>>,
    ) -> Result<Json<Readiness>, Problems<{ status::ALWAYS }>> {
        let database = async {
            // Known to be down: the probe in the background says when it is back.
            !outage.is_down() && matches!(tokio::time::timeout(PING_WITHIN, state.store.ping()).await, Ok(Ok(())))
        };
        let redis = async {
            match state.limiter.state() {
                DependencyState::Ok => match tokio::time::timeout(PING_WITHIN, state.limiter.ping()).await {
                    Ok(Ok(())) => DependencyState::Ok,
                    _ => DependencyState::Unavailable,
                },
                other => other,
            }
        };
        let (database, redis) = tokio::join!(database, redis);
        if !database {
            tracing::warn!(redis = redis.as_str(), "readiness: the database does not answer");
            let detail = match redis {
                DependencyState::Ok => "Not ready: the database does not answer (redis: ok).",
                DependencyState::Unavailable => "Not ready: the database does not answer (redis: unavailable).",
                DependencyState::InProcess => "Not ready: the database does not answer (redis: in_process).",
            };
            return Err(ApiError::Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "service_unavailable",
                detail,
            }
            .into());
        }
        if redis == DependencyState::Unavailable {
            tracing::warn!("readiness: Redis does not answer; serving degraded");
        }
        Ok(Json(Readiness {
            status: if redis == DependencyState::Unavailable { "degraded" } else { "ready" }.into(),
            database: "ok".into(),
            redis: redis.as_str().into(),
        }))
    }
}
