//! Shutdown over a real kept-alive connection: a request that arrives just after SIGTERM on a
//! connection the server already holds is answered (with `Connection: close`), not dropped.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Backend, spawn_app};

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body); `None` when the server
/// closed the connection instead of answering.
async fn read_response(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: aftercare\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_request_just_after_sigterm_is_answered_with_connection_close() {
    let mut app = spawn_app(Backend::Sqlite).await.unwrap();
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut kept = TcpStream::connect(&address).await.unwrap();
    kept.write_all(HEALTH).await.unwrap();
    let first = read_response(&mut kept).await.expect("answered");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(!first.to_ascii_lowercase().contains("connection: close"), "kept alive: {first}");

    let stopping = tokio::spawn(async move { app.stop().await });
    // Shutdown has begun once new connections are refused (a hang guard bounds the wait).
    let mut refused = false;
    for _ in 0..500 {
        if TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections are refused once shutdown begins");

    // The client did not know yet and sends its next request on the connection it holds.
    kept.write_all(HEALTH).await.expect("the connection is still open");
    let second = tokio::time::timeout(Duration::from_secs(30), read_response(&mut kept)).await.expect("hang guard");
    let second = second.expect("the request sent just after SIGTERM was dropped without an answer");
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(second.to_ascii_lowercase().contains("connection: close"), "{second}");
    // And the server closes the connection after that answer.
    let mut rest = [0u8; 16];
    let after = tokio::time::timeout(Duration::from_secs(30), kept.read(&mut rest)).await.expect("hang guard");
    assert!(matches!(after, Ok(0) | Err(_)), "closed after the answer");
    stopping.await.unwrap().expect("clean stop");
}
