//! File server benchmark, every figure against a baseline of the same run over the same card
//! (virtio-net), TCG wall time (noisy: read the ratios):
//!
//! - read node -> host (`files::get`, BS_READ in 29768-byte chunks through SOAP's name) of
//!   1 MiB and 16 MiB, against BS_READ of a process segment of the same size held by the same
//!   node (bulk RPC with no disk behind it); goal: at least 80 % of bulk RPC;
//! - read node -> node: `fetch FILE BYTES 29768` on a pool node against `fetch SEGMENT`;
//! - write host -> node (`files::put`: create, modify, commit, name) against PS_SEG_WRITE of
//!   the same bytes;
//! - the first read after a boot (Bullet checks the file's CRC once: the file is read twice)
//!   against a later one;
//! - create+commit+name of a 100-byte file, against one null-data BS_CREATE with COMMIT;
//! - `amoeba exec NODE FILESERVER/hello` (segments read in place by the node) against
//!   `amoeba exec NODE hello` (segments sent by the host).
//!
//! Run: `cargo bench -p amunix --bench files`.

#[path = "../tests/common/mod.rs"]
mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::images::{LanNodeOptions, built_test_profile, disk_image, start_lan_node_with};
use amoeba_tests::lan::port_for;
use amunix::files::{self, Place};
use amunix::peer::HostPeer;
use common::{LIMIT, amoeba, fetch_ms, peer_and_root, pool_node, programs_dir};
use libamoeba::capability::Capability;
use libamoeba::client;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

const MIB: usize = 1 << 20;
const RUNS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn timed(mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e3
}

fn file_server(port: u16, disk: &Path) -> Node {
    let options = LanNodeOptions {
        icount: false,
        disk: Some(disk),
    };
    let image = built_test_profile("test-disk");
    let words = ["node=fs-1".to_string()];
    start_lan_node_with(&image, Nic::Virtio, port, 1, &words, options, LIMIT)
}

fn place(peer: &HostPeer, root: &Capability) -> Place {
    let soap = client::dir_lookup(peer, root, "soap").unwrap_or_else(|e| panic!("{e}"));
    let bullet = client::dir_lookup(peer, root, "bullet").ok();
    Place {
        root: soap,
        bullet,
        shown: "fs-1".into(),
    }
}

/// Reads `len` bytes of `cap` from the host in 29768-byte BS_READs.
fn bulk_read(peer: &HostPeer, cap: &Capability, len: usize) {
    let mut chunk = vec![0u8; client::CREATE_CHUNK];
    let mut done = 0;
    while done < len {
        let want = (len - done).min(chunk.len());
        let got = client::bs_read(peer, cap, done as u64, &mut chunk[..want])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(got > 0);
        done += got;
    }
}

fn exec_ms(port: u16, args: &[&str]) -> f64 {
    timed(|| {
        let output = amoeba(port)
            .arg("exec")
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            output.status.success(),
            "amoeba exec {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    })
}

fn throughput(out: &mut String, what: &str, len: usize, ms: f64, base_ms: f64) {
    let mbps = |ms: f64| len as f64 / ms / 1e3;
    out.push_str(&format!(
        "  {what} {} MiB: {ms:.0} ms ({:.2} MB/s), baseline {base_ms:.0} ms ({:.2} MB/s), ratio {:.2}\n",
        len / MIB,
        mbps(ms),
        mbps(base_ms),
        base_ms / ms
    ));
}

fn main() {
    let port = port_for(91);
    let mut out = String::from("command: cargo bench -p amunix --bench files\n");
    let disk = disk_image("bench-files", 64);
    let mut server = file_server(port, &disk);
    let pool = pool_node("pool-1", port, 2, Nic::Virtio);
    let (peer, root) = peer_and_root(port, "fs-1", &server);
    let at = place(&peer, &root);
    let proc = client::dir_lookup(&peer, &root, "proc").unwrap_or_else(|e| panic!("{e}"));
    out.push_str("file server fs-1 (test-disk, 64 MiB disk) and pool-1 on virtio-net, TCG:\n");
    let mut files = Vec::new();
    for len in [MIB, 16 * MIB] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let name = format!("bench-{}", len / MIB);
        let mut file = Capability::NULL;
        let put = timed(|| {
            file = files::put(&peer, &at, &name, &data, &mut |_| {})
                .unwrap_or_else(|e| panic!("{e:#}"));
        });
        let segment =
            client::ps_seg_create(&peer, &proc, len as u64).unwrap_or_else(|e| panic!("{e}"));
        let seg_write = timed(|| {
            for (n, chunk) in data.chunks(8192).enumerate() {
                client::ps_seg_write(&peer, &segment, (n * 8192) as u64, chunk)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        });
        throughput(
            &mut out,
            "write host -> node (put vs PS_SEG_WRITE)",
            len,
            put,
            seg_write,
        );
        let first = timed(|| bulk_read(&peer, &file, len));
        let get = median(
            (0..3)
                .map(|_| {
                    timed(|| {
                        let mut sink = Vec::with_capacity(len);
                        files::get(&peer, &at, &name, &mut sink, &mut |_, _| {})
                            .unwrap_or_else(|e| panic!("{e:#}"));
                    })
                })
                .collect(),
        );
        let bulk = median(
            (0..3)
                .map(|_| timed(|| bulk_read(&peer, &segment, len)))
                .collect(),
        );
        throughput(
            &mut out,
            "read node -> host (get vs BS_READ of a segment)",
            len,
            get,
            bulk,
        );
        let chunk = client::CREATE_CHUNK;
        let node_file = fetch_ms(port, "pool-1", &file, len as u64, chunk, &pool);
        let node_bulk = fetch_ms(port, "pool-1", &segment, len as u64, chunk, &pool);
        throughput(
            &mut out,
            "read node -> node (fetch of the file vs of a segment)",
            len,
            node_file,
            node_bulk,
        );
        files.push((name, file, len, first));
        let _ = client::std_destroy(&peer, &segment);
    }
    // Exec from a file against exec of the image sent by the host.
    let hello = programs_dir().join("hello.process");
    files::put(
        &peer,
        &at,
        "hello",
        &libamoeba::process::inflate_image(
            &std::fs::read(&hello).unwrap_or_else(|e| panic!("{e}")),
            libamoeba::process::ArchMagic::X86_64,
            libamoeba::process::image::MAX_IMAGE_BYTES,
        )
        .unwrap_or_else(|e| panic!("{e}")),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let from_file = median(
        (0..RUNS)
            .map(|_| exec_ms(port, &["pool-1", "fs-1/hello"]))
            .collect(),
    );
    let sent = median(
        (0..RUNS)
            .map(|_| exec_ms(port, &["pool-1", "hello"]))
            .collect(),
    );
    out.push_str(&format!(
        "  exec hello on pool-1: from fs-1's file {from_file:.1} ms, sent by the host {sent:.1} ms (ratio {:.2}; median of {RUNS}, whole command)\n",
        from_file / sent
    ));
    // Cached against uncached: the first read after a boot checks the file's CRC.
    drop(peer);
    server.kill();
    let server = file_server(port, &disk);
    let (peer, root) = peer_and_root(port, "fs-1", &server);
    let at = place(&peer, &root);
    let (_, file, len, _) = &files[1];
    let uncached = timed(|| bulk_read(&peer, file, *len));
    let cached = median(
        (0..3)
            .map(|_| timed(|| bulk_read(&peer, file, *len)))
            .collect(),
    );
    out.push_str(&format!(
        "  16 MiB read: first after boot {uncached:.0} ms (checks the CRC), later {cached:.0} ms (ratio {:.2})\n",
        uncached / cached
    ));
    // Small files.
    let small = [0x42u8; 100];
    let mut n = 0;
    let create = median(
        (0..20)
            .map(|_| {
                timed(|| {
                    n += 1;
                    files::put(&peer, &at, &format!("small-{n}"), &small, &mut |_| {})
                        .unwrap_or_else(|e| panic!("{e:#}"));
                })
            })
            .collect(),
    );
    let bullet = at.bullet.unwrap_or_else(|| panic!("no bullet"));
    let bare = median(
        (0..20)
            .map(|_| {
                timed(|| {
                    client::bs_create(&peer, &bullet, &[], true).unwrap_or_else(|e| panic!("{e}"));
                })
            })
            .collect(),
    );
    out.push_str(&format!(
        "  100-byte file created, committed and named: {create:.1} ms; empty BS_CREATE+COMMIT: {bare:.1} ms (median of 20)\n"
    ));
    print!("{out}");
    drop((server, pool));
}
