//! The HTTP side of `--metrics`: tiny_http parses the requests; `GET
//! /metrics` answers with every metric, rendered from a copy of the counts.
//!
//! The server runs on threads of its own: tiny_http's acceptor and one thread
//! per connection read requests, [`Endpoint`]'s thread renders, and each answer
//! is written from a short-lived thread, so that a scraper that stops reading
//! holds up neither the next scrape nor, ever, the events.

use super::{exposition, Metrics};
use crate::error::Error;
use crate::sources::health::Shared;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response, Server};

/// A listening metrics endpoint; it serves once [`Endpoint::serve`] is called
/// and stops when dropped.
pub struct Endpoint {
    server: Arc<Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Endpoint {
    /// Listens on `addr`; a port taken, an address not this machine's or a port
    /// only root may use is bad input, said with a hint.
    pub fn bind(addr: SocketAddr) -> Result<Endpoint, Error> {
        let listener = TcpListener::bind(addr).map_err(|e| bind_error(addr, &e))?;
        let addr = listener.local_addr().unwrap_or(addr);
        let server = Server::from_listener(listener, None).map_err(|e| {
            Error::bad_input(format!("--metrics {addr}: cannot serve HTTP there: {e}"))
        })?;
        Ok(Endpoint {
            server: Arc::new(server),
            addr,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        })
    }

    /// The address it listens on (the port chosen, for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers scrapes with `metrics` and the health of `sources`, on a thread
    /// of its own, until dropped.
    pub fn serve(&mut self, metrics: Metrics, sources: Vec<Shared>) {
        let server = Arc::clone(&self.server);
        let stop = Arc::clone(&self.stop);
        self.thread = Some(std::thread::spawn(move || loop {
            let request = match server.recv() {
                Ok(request) => request,
                Err(_) if stop.load(Ordering::SeqCst) => break,
                // The acceptor failed (out of file descriptors): try again soon.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            answer(request, &metrics, &sources);
        }));
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request: the metrics at `/metrics`, a pointer to them at `/`.
fn answer(request: Request, metrics: &Metrics, sources: &[Shared]) {
    let path = request.url().split('?').next().unwrap_or("");
    let response = if !matches!(request.method(), Method::Get | Method::Head) {
        text(405, "only GET and HEAD\n".into()).with_header(header("Allow", "GET, HEAD"))
    } else if path == "/metrics" {
        let health: Vec<_> = sources.iter().map(Shared::get).collect();
        let body = exposition::render(&metrics.snapshot(), &health);
        text(200, body).with_header(header("Content-Type", exposition::CONTENT_TYPE))
    } else if path == "/" {
        text(200, "eperm watch: the metrics are at /metrics\n".into())
    } else {
        text(404, "not found: the metrics are at /metrics\n".into())
    };
    // A client that stops reading holds this thread only.
    std::thread::spawn(move || {
        let _ = request.respond(response);
    });
}

fn text(status: u16, body: String) -> Response<io::Cursor<Vec<u8>>> {
    // tiny_http says `text/plain; charset=UTF-8` unless told otherwise.
    Response::from_string(body).with_status_code(status)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// Why `--metrics ADDR` cannot listen, with what to do about it.
fn bind_error(addr: SocketAddr, e: &io::Error) -> Error {
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "another process listens on that port: choose another (9464 is the usual one for exporters)".to_string()
        }
        io::ErrorKind::AddrNotAvailable => {
            "the address is not one of this machine's: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)".to_string()
        }
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            "ports below 1024 need root (CAP_NET_BIND_SERVICE): choose one above, e.g. 9464".to_string()
        }
        _ => "e.g. --metrics 127.0.0.1:9464".to_string(),
    };
    Error::bad_input(format!(
        "--metrics {addr}: cannot listen there: {e}\n  hint: {hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::Source;
    use crate::sources::health::Health;
    use std::io::{Read, Write};

    /// One HTTP/1.0 request, as a scraper sends it; the whole answer.
    fn request(addr: SocketAddr, method: &str, path: &str) -> String {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        write!(conn, "{method} {path} HTTP/1.0\r\nHost: eperm\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn a_scrape_gets_the_counts_and_the_sources_and_nothing_else_is_served() {
        let mut endpoint = Endpoint::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = endpoint.addr();
        assert_ne!(addr.port(), 0);
        let metrics = Metrics::new(10);
        let mut audit = Health::new(Source::Audit);
        audit.received = 7;
        let audit = Shared::new(audit);
        endpoint.serve(metrics.clone(), vec![audit.clone()]);
        metrics.count(&crate::app::testing::event("mkdir", 42, 0));
        metrics.count(&crate::app::testing::event("mkdir", 43, 0));
        audit.update(|h| h.received = 9);
        let answer = request(addr, "GET", "/metrics?x=1");
        assert!(answer.starts_with("HTTP/1.0 200 "), "{answer}");
        assert!(
            answer.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            "{answer}"
        );
        let sample = r#"eperm_denials_total{namespace="",pod="",container="",syscall="mkdir",arch="x86_64",action="SCMP_ACT_ERRNO"} 2"#;
        assert!(answer.contains(sample), "{answer}");
        assert!(
            answer.contains("eperm_source_received_total{source=\"audit\"} 9"),
            "{answer}"
        );
        let head = request(addr, "HEAD", "/metrics");
        assert!(head.starts_with("HTTP/1.0 200 "), "{head}");
        assert!(!head.contains("eperm_denials_total"), "{head}");
        let post = request(addr, "POST", "/metrics");
        assert!(post.starts_with("HTTP/1.0 405 "), "{post}");
        assert!(post.contains("Allow: GET, HEAD"), "{post}");
        let other = request(addr, "GET", "/debug");
        assert!(other.starts_with("HTTP/1.0 404 "), "{other}");
        // Dropped, it listens no more (tiny_http's acceptor closes the socket
        // on its way out, soon after).
        drop(endpoint);
        let closed = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::net::TcpStream::connect(addr).is_err()
        });
        assert!(closed, "{addr} still accepts connections");
    }

    #[test]
    fn an_address_in_use_is_bad_input_with_a_hint() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let Err(e) = Endpoint::bind(addr) else {
            panic!("{addr} was bound twice");
        };
        assert_eq!(e.exit_code(), crate::error::EXIT_BAD_INPUT);
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("--metrics {addr}: cannot listen there: "))
                && text.contains("\n  hint: another process listens on that port"),
            "{text}"
        );
    }
}
