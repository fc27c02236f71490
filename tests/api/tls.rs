//! TLS to PostgreSQL and Redis, for real: the machine's PostgreSQL (`ssl = on`) under each
//! `sslmode`, and a `redis-server --tls-port` of the test's own with certificates it makes with
//! the `openssl` command. Skipped like the other PostgreSQL and Redis tests when
//! TEST_DATABASE_URL / TEST_REDIS_URL are unset (never in CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aftercare::coordination::{RateLimiter as _, RedisLimiter, RedisLink, RedisTarget, RedisTimeouts};
use aftercare::store::{PgStore, PoolOptions};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{Backend, PASSWORD, required_env, spawn_app_with, spawn_app_with_database_params};

/// A certificate authority and a server certificate it signed (for `localhost` and 127.0.0.1),
/// and a second authority that signed nothing here.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    fn other_ca(&self) -> PathBuf {
        self.path("other-ca.pem")
    }

    fn make() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("the openssl command");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        for name in ["ca", "other-ca"] {
            let (key, cert, subject) =
                (format!("{name}.key"), format!("{name}.pem"), format!("/CN=Aftercare test {name}"));
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &cert, "-days", "2", "-subj", &subject]);
            args.extend([
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
            run(&args);
        }
        let mut args = vec!["req"];
        args.extend(ec);
        args.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
        run(&args);
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Self { dir }
    }
}

/// A `redis-server` that speaks only TLS, on a spare port; stopped when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl TlsRedis {
    fn start(pki: &Pki, port: u16) -> Self {
        let path = |name: &str| pki.path(name).display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-cert-file", &path("server.pem"), "--tls-key-file", &path("server.key")])
            .args(["--tls-ca-cert-file", &path("ca.pem"), "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// Waits until it accepts TLS connections from a client that trusts `ca`.
    async fn ready(&self, ca: &Path) -> RedisLimiter {
        for _ in 0..100 {
            if let Ok(limiter) = connect(&self.target(ca), "ready:").await {
                return limiter;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the TLS redis-server on port {} did not come up", self.port);
    }

    fn target(&self, ca: &Path) -> RedisTarget {
        RedisTarget::new(self.url()).with_root_cert(std::fs::read(ca).unwrap())
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(
    target: &RedisTarget,
    prefix: &str,
) -> Result<RedisLimiter, aftercare::coordination::CoordinationError> {
    let timeouts = RedisTimeouts { connection: Duration::from_secs(2), response: Duration::from_secs(2) };
    // A hang guard: whatever happens, a refused handshake must not wait forever.
    // Connections are made on first use, so a ping is what proves the handshake.
    let connect = async {
        let limiter = RedisLimiter::new(RedisLink::standalone(target, timeouts)?, prefix);
        limiter.ping().await?;
        Ok(limiter)
    };
    match tokio::time::timeout(Duration::from_secs(30), connect).await {
        Ok(result) => result,
        Err(_) => Err(aftercare::coordination::CoordinationError("connecting took over 30 s".into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_works_over_rediss_with_the_servers_ca() {
    if required_env("TEST_REDIS_URL").is_none() {
        return;
    }
    let pki = Pki::make();
    let redis = TlsRedis::start(&pki, 61011);
    let limiter = redis.ready(&pki.ca()).await;
    let window = Duration::from_secs(60);
    assert_eq!(limiter.hit("k", window).await.unwrap().count, 1);
    assert_eq!(limiter.hit("k", window).await.unwrap().count, 2);

    // The whole service, its sign-in limit kept in the TLS Redis.
    let overrides = [
        ("redis.url", json!(redis.url())),
        ("redis.ca_cert_file", json!(pki.ca().display().to_string())),
        ("rate_limit.login_failures_per_account", json!(2)),
    ];
    let app = spawn_app_with(Backend::Sqlite, &overrides).await.expect("app over rediss://");
    assert!(app.state.limiter.is_shared());
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.register_patient("ana@example.org").await;
    for _ in 0..2 {
        assert_eq!(app.password_grant("ana@example.org", "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.password_grant("ana@example.org", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let prefix = &app.state.settings.redis.key_prefix;
    let shared = connect(&redis.target(&pki.ca()), prefix).await.unwrap();
    assert_eq!(shared.peek("login:account:ana@example.org").await.unwrap().count, 2, "counted in the TLS Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_refuses_a_server_it_cannot_verify() {
    if required_env("TEST_REDIS_URL").is_none() {
        return;
    }
    let pki = Pki::make();
    let redis = TlsRedis::start(&pki, 61012);
    redis.ready(&pki.ca()).await;
    // The system's trust store does not know the test CA.
    let untrusted = connect(&RedisTarget::new(redis.url()), "t:").await;
    assert!(untrusted.is_err(), "a certificate from an unknown CA was accepted");
    // Nor does a CA that signed something else.
    let wrong = connect(&redis.target(&pki.other_ca()), "t:").await;
    assert!(wrong.is_err(), "a certificate from another CA was accepted");
    // The name is checked too: the certificate is for localhost and 127.0.0.1 only.
    let elsewhere =
        RedisTarget::new(format!("rediss://127.0.0.2:{}", redis.port)).with_root_cert(std::fs::read(pki.ca()).unwrap());
    assert!(connect(&elsewhere, "t:").await.is_err(), "a certificate for another name was accepted");
    // And plaintext is no way in.
    assert!(connect(&RedisTarget::new(format!("redis://127.0.0.1:{}", redis.port)), "t:").await.is_err());
}

/// The machine's PostgreSQL URL with `host` and query `params`.
fn pg_url(base: &str, host: &str, params: &str) -> String {
    let mut url = url::Url::parse(base).expect("TEST_DATABASE_URL is a URL");
    url.set_host(Some(host)).unwrap();
    url.set_query(Some(params));
    url.to_string()
}

/// Whether the connection the store opened is encrypted, from the server's own view.
async fn encrypted(url: &str) -> Result<bool, String> {
    let options = PoolOptions { max_connections: 1, acquire_timeout: Duration::from_secs(10) };
    let store = PgStore::connect(url, &options).await.map_err(|e| e.to_string())?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    store.pool().close().await;
    Ok(ssl)
}

async fn server_certificate(base: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(base).await.expect("TEST_DATABASE_URL");
    sqlx::query_scalar("SELECT current_setting('ssl_cert_file')").fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn postgres_sslmodes_are_honoured() {
    let Some(base) = required_env("TEST_DATABASE_URL") else { return };
    let cert = server_certificate(&base).await;
    let host = url::Url::parse(&base).unwrap().host_str().unwrap().to_owned();
    assert_eq!(encrypted(&pg_url(&base, &host, "sslmode=disable")).await, Ok(false), "the check can tell");
    assert_eq!(encrypted(&pg_url(&base, &host, "sslmode=require")).await, Ok(true));
    assert_eq!(encrypted(&pg_url(&base, &host, &format!("sslmode=verify-ca&sslrootcert={cert}"))).await, Ok(true));
    // The server's certificate names `localhost`: verify-full holds the client to the name.
    assert_eq!(
        encrypted(&pg_url(&base, "localhost", &format!("sslmode=verify-full&sslrootcert={cert}"))).await,
        Ok(true)
    );
    let by_address = encrypted(&pg_url(&base, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={cert}"))).await;
    assert!(by_address.is_err(), "a certificate for localhost was accepted for 127.0.0.1: {by_address:?}");
}

/// With sqlx on native TLS, `sslrootcert` is trusted in addition to the system's trust store,
/// not instead of it as with libpq: a root that did not sign the server's certificate changes
/// nothing, and the verdict is the system store's. (On a machine whose store holds the
/// PostgreSQL certificate, as Debian's snakeoil certificate is, both connect; elsewhere both
/// fail.) The name check of verify-full holds either way (above).
#[tokio::test]
async fn postgres_sslrootcert_adds_to_the_system_trust_store() {
    let Some(base) = required_env("TEST_DATABASE_URL") else { return };
    let pki = Pki::make();
    let other = pki.other_ca().display().to_string();
    let with_wrong_root =
        encrypted(&pg_url(&base, "localhost", &format!("sslmode=verify-full&sslrootcert={other}"))).await;
    let with_system_store = encrypted(&pg_url(&base, "localhost", "sslmode=verify-full")).await;
    assert_eq!(with_wrong_root.is_ok(), with_system_store.is_ok(), "{with_wrong_root:?} / {with_system_store:?}");
    let verify_ca_wrong_root =
        encrypted(&pg_url(&base, "localhost", &format!("sslmode=verify-ca&sslrootcert={other}"))).await;
    assert_eq!(verify_ca_wrong_root.is_ok(), with_system_store.is_ok(), "{verify_ca_wrong_root:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_works_over_postgres_verify_ca() {
    let Some(base) = required_env("TEST_DATABASE_URL") else { return };
    let cert = server_certificate(&base).await;
    let params = format!("sslmode=verify-ca&sslrootcert={cert}");
    let app = spawn_app_with_database_params(Backend::Postgres, &params, &[]).await.expect("app over TLS");
    assert!(app.database_url.contains("sslmode=verify-ca"));
    app.register_patient("ana@example.org").await;
    assert_eq!(app.password_grant("ana@example.org", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(encrypted(&app.database_url).await, Ok(true));
}
