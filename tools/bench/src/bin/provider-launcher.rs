//! A stand-in for terraform-provider-atlas that starts the real binary and records what the
//! kernel charged it: the bench points Terraform's `dev_overrides` at a copy of this launcher.
//!
//! The launcher forks and execs the provider named by `ATLAS_BENCH_PROVIDER` with the same
//! arguments and environment (the provider's stdout, stdin and, unless phases are asked for,
//! stderr are the launcher's own, so go-plugin reads the handshake line from the provider
//! itself), then points its own standard descriptors at /dev/null: the provider's detaching of
//! stdout after the handshake must still give go-plugin's reader EOF at once. It reaps the
//! provider with `wait4`, whose `rusage` is the kernel's exact account of the provider's CPU time
//! (the sum of user and system is the scheduler's run time; only the split between the two is
//! sampled), and writes one line `key=value ...` to `ATLAS_BENCH_RUSAGE_DIR/<pid>.rusage`. Its
//! own CPU time is not in that figure. It exits as the provider did.
//!
//! With `ATLAS_BENCH_PHASES=1` the launcher also reads the provider's stderr (its JSON log lines;
//! the bench sets `TF_LOG_PROVIDER=trace`) and, as each line arrives, reads the provider's CPU
//! clock (`clock_getcpuclockid`, every thread, in nanoseconds), writing `<pid>.phases`: one
//! `cpu_ns<TAB>line` per log line. The lines are not forwarded to Terraform.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

fn main() -> ExitCode {
    let (Some(provider), Some(directory)) = (
        std::env::var_os("ATLAS_BENCH_PROVIDER"),
        std::env::var_os("ATLAS_BENCH_RUSAGE_DIR"),
    ) else {
        eprintln!("provider-launcher: ATLAS_BENCH_PROVIDER and ATLAS_BENCH_RUSAGE_DIR must be set");
        return ExitCode::from(2);
    };
    let directory = std::path::PathBuf::from(directory);
    let phases = std::env::var_os("ATLAS_BENCH_PHASES").is_some_and(|value| value == "1");
    let mut command = Command::new(&provider);
    command
        .args(std::env::args_os().skip(1))
        .env_remove("ATLAS_BENCH_PROVIDER")
        .env_remove("ATLAS_BENCH_RUSAGE_DIR")
        .env_remove("ATLAS_BENCH_PHASES");
    if phases {
        command.stderr(Stdio::piped());
    }
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the provider if this
    // launcher dies first (go-plugin's forced kill reaches the launcher alone).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let started = Instant::now();
    let started_unix_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "provider-launcher: cannot start {}: {error}",
                provider.to_string_lossy()
            );
            return ExitCode::from(1);
        }
    };
    let pid = child.id() as libc::pid_t;
    detach_standard_descriptors();
    // Terraform owns Ctrl-C (the provider ignores SIGINT too); the launcher must outlive it.
    // SAFETY: setting a signal's disposition to ignore has no memory-safety conditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }

    let phase_lines = child.stderr.take().map(|stderr| {
        std::thread::spawn(move || {
            let clock = cpu_clock_of(pid);
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let cpu_ns = clock.and_then(read_clock).unwrap_or(u64::MAX);
                lines.push(format!("{cpu_ns}\t{line}\n"));
            }
            lines
        })
    });

    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not reaped by anyone else (Child's handle never waits).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ns = started.elapsed().as_nanos();
    if reaped != pid {
        return ExitCode::from(1);
    }
    let microseconds = |time: libc::timeval| time.tv_sec * 1_000_000 + time.tv_usec;
    let record = format!(
        "pid={pid} started_unix_ns={started_unix_ns} wall_ns={wall_ns} user_us={} system_us={} \
         maxrss_kb={} minflt={} majflt={} nvcsw={} nivcsw={} status={status}\n",
        microseconds(usage.ru_utime),
        microseconds(usage.ru_stime),
        usage.ru_maxrss,
        usage.ru_minflt,
        usage.ru_majflt,
        usage.ru_nvcsw,
        usage.ru_nivcsw,
    );
    if let Some(reader) = phase_lines
        && let Ok(lines) = reader.join()
    {
        write_atomically(&directory.join(format!("{pid}.phases")), &lines.concat());
    }
    // The .rusage file last: the bench takes it as the sign that this provider is fully recorded.
    write_atomically(&directory.join(format!("{pid}.rusage")), &record);

    if libc::WIFEXITED(status) {
        ExitCode::from(libc::WEXITSTATUS(status) as u8)
    } else {
        ExitCode::from(128u8.wrapping_add(libc::WTERMSIG(status) as u8))
    }
}

/// Points descriptors 0, 1 and 2 at /dev/null, so that the provider alone holds go-plugin's pipes.
fn detach_standard_descriptors() {
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return;
    };
    let null = std::os::fd::AsRawFd::as_raw_fd(&null);
    for descriptor in 0..=2 {
        // SAFETY: dup2 onto a standard descriptor only changes what it refers to.
        unsafe {
            libc::dup2(null, descriptor);
        }
    }
}

/// The clock that counts the CPU time of every thread of process `pid`.
fn cpu_clock_of(pid: libc::pid_t) -> Option<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: clock is a valid out pointer.
    (unsafe { libc::clock_getcpuclockid(pid, &mut clock) } == 0).then_some(clock)
}

fn read_clock(clock: libc::clockid_t) -> Option<u64> {
    // SAFETY: an all-zero timespec is valid; clock_gettime writes into it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: now is a valid out pointer.
    (unsafe { libc::clock_gettime(clock, &mut now) } == 0)
        .then(|| now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

fn write_atomically(path: &std::path::Path, contents: &str) {
    let partial = path.with_extension("partial");
    let written =
        std::fs::File::create(&partial).and_then(|mut file| file.write_all(contents.as_bytes()));
    if written.is_ok() {
        let _ = std::fs::rename(&partial, path);
    }
}
