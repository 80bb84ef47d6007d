// SPDX-License-Identifier: GPL-2.0
//! Tokio's TCP echo server, as the Tokio tutorial writes it, for the echo
//! benchmark (Documentation/ktask/echo.rst).
//!
//! Usage: ktask-tokio-echo [port=7009] [workers=CPUS] [bufsize=16384]
//!                         [backlog=4096]
//!
//! A multi-threaded runtime with @workers workers (default: one per
//! online CPU) listens on 127.0.0.1:@port and spawns a task per accepted
//! connection that reads into a @bufsize buffer and writes the bytes back,
//! until EOF or an error.  Tokio's own coop budget applies to the
//! socket's reads and writes.  Prints "tokio_echo: listening ..." once it
//! accepts, then runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::exit;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

fn param(args: &[String], name: &str, default: usize) -> usize {
    for a in args {
        if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            match v.parse() {
                Ok(n) => return n,
                Err(_) => {
                    eprintln!("tokio_echo: bad {}: {}", name, v);
                    exit(2);
                }
            }
        }
    }
    default
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let port = param(&args, "port", 7009);
    let workers = param(&args, "workers", cpus).max(1);
    let bufsize = param(&args, "bufsize", 16384).max(64);
    let backlog = param(&args, "backlog", 4096) as u32;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_io()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("tokio_echo: runtime: {}", e);
            exit(1);
        });
    rt.block_on(async move {
        let addr: SocketAddr = format!("127.0.0.1:{}", port).parse().unwrap();
        let listener = (|| {
            let s = TcpSocket::new_v4()?;
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(backlog)
        })()
        .unwrap_or_else(|e| {
            eprintln!("tokio_echo: listen on {}: {}", addr, e);
            exit(1);
        });
        println!(
            "tokio_echo: listening on {} with {} workers",
            addr,
            workers,
        );
        let _ = std::io::stdout().flush();
        loop {
            let (mut sock, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("tokio_echo: accept: {}", e);
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; bufsize];
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if sock.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}
