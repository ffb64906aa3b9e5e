//! The shipped systemd unit's sandbox, applied to the real `hallq` binary: the node must serve a ticket
//! under the unit's system-call filter and its seccomp-based settings, not just answer `/healthz`.
//!
//! This machine may have no running systemd, so the filter is built here from the unit: the system
//! calls of its `SystemCallFilter=` groups (checked in as `tests/sandbox/system-service.syscalls`, and
//! checked against `systemd-analyze syscall-filter`), with every other call killing the process, which
//! is what systemd does without `SystemCallErrorNumber=`. That is stricter than the unit, which now
//! answers an unlisted call with EPERM: the node must not even try one on the path of a ticket. On top
//! come the settings systemd also enforces with seccomp: `RestrictAddressFamilies=`,
//! `MemoryDenyWriteExecute=` and `NoNewPrivileges=`. The mount-namespace settings (`ProtectSystem=`,
//! `ProtectHome=`, `PrivateTmp=`) need a service manager; `scripts/sandbox-check.sh` runs the unit's
//! own properties with `systemd-run` where one is running.
#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hallq::lan::Role;
use hallq::lan::client::{HallClient, Retry};
use hallq::queue::{Command, Reply};
use hallq::store::CommandResult;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

const UNIT: &str = include_str!("../../systemd/hallq.service");
const SYSCALL_LIST: &str = include_str!("../sandbox/system-service.syscalls");

/// The values of `key=` in the unit's [Service] section, in order.
fn unit_values(key: &str) -> Vec<String> {
    UNIT.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
        .collect()
}

/// The unit's `SystemCallFilter=` groups and names, as the checked-in list names them.
fn filter_groups_of_unit() -> BTreeSet<String> {
    unit_values("SystemCallFilter")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn checked_in_groups() -> BTreeSet<String> {
    SYSCALL_LIST
        .lines()
        .filter(|l| l.starts_with('@'))
        .map(str::to_string)
        .collect()
}

fn checked_in_syscalls() -> BTreeSet<String> {
    SYSCALL_LIST
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('@'))
        .map(str::to_string)
        .collect()
}

/// What `systemd-analyze syscall-filter` lists for `group`, nested groups expanded.
fn systemd_expands(group: &str, into: &mut BTreeSet<String>) {
    let out = Process::new("systemd-analyze")
        .args(["syscall-filter", group])
        .output()
        .expect("systemd-analyze runs (scripts/deps.sh --test installs systemd)");
    assert!(
        out.status.success(),
        "systemd-analyze syscall-filter {group}"
    );
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if name.starts_with('@') {
            systemd_expands(name, into);
        } else {
            into.insert(name.to_string());
        }
    }
}

#[test]
fn the_checked_in_syscall_list_is_the_units_filter() {
    assert_eq!(
        checked_in_groups(),
        filter_groups_of_unit(),
        "tests/sandbox/system-service.syscalls names other groups than the unit's SystemCallFilter=; \
         run scripts/sandbox-check.sh --update"
    );
    let mut expanded = BTreeSet::new();
    for group in checked_in_groups() {
        systemd_expands(&group, &mut expanded);
    }
    assert_eq!(
        checked_in_syscalls(),
        expanded,
        "this machine's systemd allows other calls; run scripts/sandbox-check.sh --update"
    );
}

#[test]
fn the_unit_leaves_open_files_for_every_lan_connection() {
    let files: u64 = unit_values("LimitNOFILE")[0].parse().unwrap();
    let lan = hallq::config::LanConfig::default();
    let limits = hallq::lan::serve::Limits::of(&lan, Some(files));
    assert_eq!(
        limits.max_connections, lan.max_connections,
        "LimitNOFILE={files} must fit [lan] max_connections and the node's own files"
    );
}

#[test]
fn the_unit_answers_an_unlisted_call_with_an_error_and_keeps_the_clock_protected() {
    assert_eq!(unit_values("SystemCallErrorNumber"), ["EPERM"]);
    assert_eq!(unit_values("ProtectClock"), ["yes"]);
    assert!(
        !checked_in_syscalls().contains("adjtimex"),
        "the clock's sync state must be read without adjtimex"
    );
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).unwrap()
}

fn sysno(name: &str) -> i64 {
    syscalls::Sysno::from_str(name).unwrap().id() as i64
}

fn address_family(name: &str) -> u64 {
    match name {
        "AF_UNIX" => libc::AF_UNIX as u64,
        "AF_INET" => libc::AF_INET as u64,
        "AF_INET6" => libc::AF_INET6 as u64,
        "AF_NETLINK" => libc::AF_NETLINK as u64,
        other => panic!("the test knows no address family {other}"),
    }
}

/// The seccomp programs systemd would install for the unit. The system-call allow-list comes last: it
/// forbids `seccomp` itself, so no filter could be added after it.
fn unit_filters() -> Vec<BpfProgram> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).unwrap();
    // SystemCallFilter=: the listed calls run, any other kills the process. Names of other
    // architectures in systemd's list do not resolve here and are left out, as systemd leaves them.
    let allowed: BTreeMap<i64, Vec<SeccompRule>> = checked_in_syscalls()
        .iter()
        .filter_map(|name| syscalls::Sysno::from_str(name).ok())
        .map(|s| (s.id() as i64, Vec::new()))
        .collect();
    let syscall_filter = SeccompFilter::new(
        allowed,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch,
    )
    .unwrap();

    // RestrictAddressFamilies=: a socket of another family fails with EAFNOSUPPORT.
    let families = unit_values("RestrictAddressFamilies");
    assert_eq!(families.len(), 1, "one RestrictAddressFamilies= line");
    let other_family = SeccompRule::new(
        families[0]
            .split_whitespace()
            .map(|f| condition(0, SeccompCmpOp::Ne, address_family(f)))
            .collect(),
    )
    .unwrap();
    let family_filter = SeccompFilter::new(
        [(sysno("socket"), vec![other_family])].into(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EAFNOSUPPORT as u32),
        arch,
    )
    .unwrap();

    // MemoryDenyWriteExecute=: no mapping both writable and executable, no mapping made executable.
    assert_eq!(unit_values("MemoryDenyWriteExecute"), ["yes"]);
    let write_exec = (libc::PROT_WRITE | libc::PROT_EXEC) as u64;
    let exec = libc::PROT_EXEC as u64;
    let rule = |mask: u64| {
        SeccompRule::new(vec![condition(2, SeccompCmpOp::MaskedEq(mask), mask)]).unwrap()
    };
    let mdwe_filter = SeccompFilter::new(
        [
            (sysno("mmap"), vec![rule(write_exec)]),
            (sysno("mprotect"), vec![rule(exec)]),
            (sysno("pkey_mprotect"), vec![rule(exec)]),
        ]
        .into(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .unwrap();

    [family_filter, mdwe_filter, syscall_filter]
        .into_iter()
        .map(|f| f.try_into().unwrap())
        .collect()
}

/// Starts `hallq` with `args` under the unit's filters and file-mode mask, installed between fork and
/// exec as systemd installs them.
fn spawn_sandboxed(args: &[&str]) -> Child {
    assert_eq!(unit_values("NoNewPrivileges"), ["yes"]);
    let umask = u32::from_str_radix(&unit_values("UMask")[0], 8).unwrap();
    assert_eq!(umask, 0o077, "files the node makes are its own");
    let filters = unit_filters();
    let mut command = Process::new(env!("CARGO_BIN_EXE_hallq"));
    command
        .args(args)
        .env("HALLQ_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: between fork and exec the closure only makes the umask, prctl and seccomp system calls
    // (through `apply_filter`) on programs built before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            for filter in &filters {
                seccompiler::apply_filter(filter).map_err(std::io::Error::other)?;
            }
            Ok(())
        });
    }
    command.spawn().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example hall, open around the clock (the test runs whenever CI does), on a loopback port.
fn write_hall_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let example = hallq::config::EXAMPLE_HALL_TOML;
    let hours = "mon-fri = \"09:30-13:30, 15:30-19:30\"\nsat = \"10:00-14:00\"\nsun = \"closed\"";
    assert!(example.contains(hours), "the example hall's hours changed");
    assert!(example.contains("assume_trusted = false"));
    let mut config = example.replace(hours, "mon-sun = \"00:00-23:59\"");
    config.push_str(&format!(
        "\n[lan]\nlisten = \"127.0.0.1:{port}\"\nhall_url = \"https://127.0.0.1:{port}\"\n"
    ));
    let path = dir.join("hall.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn died(node: &mut Child) -> String {
    match node.try_wait().unwrap() {
        Some(status) => match status.signal() {
            Some(signal) => format!("the node was killed by signal {signal} ({status})"),
            None => format!("the node exited: {status}"),
        },
        None => "the node is still running".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_issues_tickets_under_the_units_seccomp_filter() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_hall_config(dir.path(), port);
    let db = dir.path().join("hall.db");
    let (config, db) = (config.to_str().unwrap(), db.to_str().unwrap());
    // Minting the pairing code is the installer's step, outside the service.
    let minted = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args([
            "pair", "code", "--config", config, "--db", db, "--role", "kiosk",
        ])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let code = String::from_utf8(minted.stdout).unwrap().trim().to_string();

    let mut node = spawn_sandboxed(&[
        "run",
        "--config",
        config,
        // As the unit runs it: the hall node alone.
        "--role",
        "hall",
        "--headless",
        "--db",
        db,
        "--seconds",
        "60",
    ]);
    let url = format!("https://127.0.0.1:{port}");
    let started = Instant::now();
    let kiosk = loop {
        match HallClient::pair(url.as_str(), &code, "sandboxed kiosk", Role::Kiosk).await {
            Ok((client, _)) => {
                break client.with_retry(Retry {
                    first_delay: Duration::from_millis(100),
                    max_delay: Duration::from_millis(500),
                    patience: Some(Duration::from_secs(10)),
                });
            }
            Err(e) => {
                let state = died(&mut node);
                assert!(
                    state == "the node is still running"
                        && started.elapsed() < Duration::from_secs(30),
                    "pairing failed ({e}); {state}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    // Two tickets more than a second apart: the first reads the clock's sync state, the second reads
    // it again once the cached look has run out.
    for expected in ["A001", "A002"] {
        let outcome = kiosk
            .execute(Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: false,
            })
            .await;
        let number = match outcome {
            Ok(outcome) => match outcome.result {
                CommandResult::Done(Reply::Ticket { ticket, .. }) => ticket.number,
                other => panic!("expected a ticket, got {other:?}"),
            },
            Err(e) => panic!("issuing failed ({e}); {}", died(&mut node)),
        };
        assert_eq!(number, expected);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    assert_eq!(died(&mut node), "the node is still running");
    node.kill().unwrap();
    node.wait().unwrap();
    // Under the unit's mask nothing the node made is readable by others.
    use std::os::unix::fs::PermissionsExt;
    for made in std::fs::read_dir(dir.path()).unwrap() {
        let made = made.unwrap().path();
        if made.extension().is_some_and(|e| e == "toml") {
            continue;
        }
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", made.display());
    }
}
