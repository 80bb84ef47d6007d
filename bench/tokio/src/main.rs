// SPDX-License-Identifier: GPL-2.0
//! Tokio's multi-threaded runtime as a contender of bench/ktask_bench.c.
//!
//! Usage: ktask-tokio-bench [rounds=7] [tasks=20000] [batch=32]
//!                          [samples=10000] [yields=50000] [clock=tsc|monotonic]
//!
//! The parameters are the kernel module's, with its defaults; the guest
//! (scripts/jobs/bench.guest) passes the module's values.  Runs every
//! benchmark @rounds times on one runtime with a worker per online CPU
//! and prints, like the module, one line per measurement:
//!
//!     result round=R figure=F contender=tokio value=V unit=U
//!
//! and "ktask_bench tokio: ..." lines about the run.  The figures have the
//! module's names, units and shapes:
//!
//!   throughput_pN   N producer threads (std::thread, not workers) bound
//!                   to the first N CPUs, each spawning @batch tiny tasks
//!                   (returning arg + 1) with Handle::spawn, then awaiting
//!                   their JoinHandles in order in one Handle::block_on
//!                   (the thread sleeps there, as a kthread in
//!                   ktask_join()), @tasks per producer; tasks/s over the
//!                   slowest producer.  N: 1, 2 and the CPUs if more
//!   switches_pN     the producers' context switches in that run, per 100
//!                   tasks (getrusage(RUSAGE_THREAD))
//!   spawn_all       one producer spawns @tasks tiny tasks, then awaits
//!                   them all in order; tasks/s
//!   spawn_detached  ns per spawn of a task whose JoinHandle is dropped,
//!                   timed around batches of @batch spawns made as
//!                   SCHED_FIFO (the module's are made with preemption
//!                   off); the batch runs to completion, untimed, before
//!                   the next one
//!   wake_p50/p99    ns from just before a wake to the start of the woken
//!                   task's poll: two tasks ping-pong through their
//!                   Wakers (each wakes the other and returns Pending),
//!                   @samples samples, sorted
//!   wake_busy_*     the same while a thread spins on every CPU
//!   forced_yield    ns per tokio::task::yield_now() of a task yielding
//!                   @yields times
//!   allocs_per_task_x100, bytes_per_task
//!                   allocations (x100) and their usable bytes made by
//!                   the spawning thread per spawn, 256 spawns of a task
//!                   with an 8-byte argument (a counting global allocator)
//!
//! Short intervals (the wakes, the detached spawns) are read from the TSC
//! on x86-64, as the module does: under qemu's TCG the guest's clock
//! source is the HPET, whose every read traps and costs more than what is
//! measured.  The TSC's rate is calibrated against CLOCK_MONOTONIC.  The
//! long ones (throughput, spawn_all, forced_yield) use CLOCK_MONOTONIC.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

/// The module's limits.
const MAX_BATCH: usize = 64;
const MAX_PRODUCERS: usize = 64;
/// Spawns counted by the memory figure, in groups of MEM_GROUP.
const MEM_TASKS: usize = 256;
const MEM_GROUP: usize = 16;

type Res<T> = Result<T, String>;

// --- the parameters ---------------------------------------------------------

struct Params {
    rounds: usize,
    tasks: usize,
    batch: usize,
    samples: usize,
    yields: usize,
    tsc: bool,
}

impl Params {
    fn parse(args: impl Iterator<Item = String>) -> Res<Params> {
        let mut p = Params {
            rounds: 7,
            tasks: 20000,
            batch: 32,
            samples: 10000,
            yields: 50000,
            tsc: true,
        };
        for arg in args {
            let (key, val) = match arg.split_once('=') {
                Some(kv) => kv,
                None => return Err(format!("{}: expected NAME=VALUE", arg)),
            };
            if key == "clock" {
                p.tsc = match val {
                    "tsc" => true,
                    "monotonic" => false,
                    _ => return Err(format!("{}: clock is tsc or monotonic", arg)),
                };
                continue;
            }
            let n: usize = val.parse().map_err(|_| format!("{}: not a number", arg))?;
            if n == 0 {
                return Err(format!("{}: must be positive", arg));
            }
            match key {
                "rounds" => p.rounds = n,
                "tasks" => p.tasks = n,
                "batch" => p.batch = n.min(MAX_BATCH),
                "samples" => p.samples = n,
                "yields" => p.yields = n,
                _ => return Err(format!("{}: unknown parameter", arg)),
            }
        }
        Ok(p)
    }
}

// --- counting allocations ---------------------------------------------------

/// The system allocator, counting the allocations of the threads that ask
/// for it (COUNT_HERE) and their usable size.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}

fn count_alloc(ptr: *mut u8) {
    // try_with: allocations can come after this thread's TLS is gone.
    if !ptr.is_null() && COUNT_HERE.try_with(|c| c.get()).unwrap_or(false) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ptr was just returned by malloc (System is glibc's).
        let usable = unsafe { libc::malloc_usable_size(ptr.cast()) };
        ALLOC_BYTES.fetch_add(usable as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed on to System unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        count_alloc(ptr);
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        count_alloc(ptr);
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let ptr = System.realloc(ptr, layout, size);
        count_alloc(ptr);
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// --- the clock --------------------------------------------------------------

/// kHz of the TSC; 0: ticks() is CLOCK_MONOTONIC in ns.
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec; CLOCK_MONOTONIC cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    use std::arch::x86_64::{_mm_lfence, _rdtsc};
    // SAFETY: x86-64 has both; the fence orders the read after what
    // precedes it, as the kernel's rdtsc_ordered().
    unsafe {
        _mm_lfence();
        _rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn rdtsc() -> u64 {
    monotonic_ns()
}

/// The clock of the short intervals: the TSC, or CLOCK_MONOTONIC.
fn ticks() -> u64 {
    if TSC_KHZ.load(Ordering::Relaxed) != 0 {
        rdtsc()
    } else {
        monotonic_ns()
    }
}

/// A ticks() interval in ns.
fn ticks_ns(delta: u64) -> u64 {
    match TSC_KHZ.load(Ordering::Relaxed) {
        0 => delta,
        khz => (delta as u128 * 1_000_000 / khz as u128) as u64,
    }
}

/// Measure the TSC's rate against CLOCK_MONOTONIC on one CPU; keep
/// CLOCK_MONOTONIC if there is no TSC or its rate makes no sense.
fn calibrate(cpu: usize) -> &'static str {
    if !cfg!(target_arch = "x86_64") {
        return "monotonic";
    }
    let khz = thread::scope(|s| {
        s.spawn(|| {
            pin(cpu);
            let (m0, t0) = (monotonic_ns(), rdtsc());
            thread::sleep(Duration::from_millis(200));
            let (m1, t1) = (monotonic_ns(), rdtsc());
            if m1 <= m0 || t1 <= t0 {
                return 0;
            }
            ((t1 - t0) as u128 * 1_000_000 / (m1 - m0) as u128) as u64
        })
        .join()
        .unwrap_or(0)
    });
    // 100 MHz to 100 GHz
    if !(100_000..=100_000_000).contains(&khz) {
        return "monotonic";
    }
    TSC_KHZ.store(khz, Ordering::Relaxed);
    "tsc"
}

// --- CPUs and threads -------------------------------------------------------

/// The CPUs this process may run on: in the guest, the online ones.
fn online_cpus() -> Vec<usize> {
    // SAFETY: set is a plain bitmap, filled by the kernel.
    #[allow(unused_unsafe)]
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) != 0 {
            return vec![0];
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect();
        if cpus.is_empty() {
            vec![0]
        } else {
            cpus
        }
    }
}

/// Bind the calling thread to one CPU.
fn pin(cpu: usize) {
    // SAFETY: as above; 0 is the calling thread.
    #[allow(unused_unsafe)]
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
    }
}

/// The CPU the calling thread runs on.
fn this_cpu() -> i64 {
    // SAFETY: no arguments; -1 on error.
    unsafe { libc::sched_getcpu() as i64 }
}

/// Context switches of the calling thread so far.
fn thread_switches() -> u64 {
    // SAFETY: ru is a plain struct, filled by the kernel.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        (ru.ru_nvcsw + ru.ru_nivcsw) as u64
    }
}

struct Producer {
    elapsed_ns: u64,
    switches: u64,
}

/// Run body(i) on `nr` threads bound to the first `nr` CPUs (wrapping
/// around), started together.  The body's result is its own elapsed time
/// in ns if it measures one; if None, the time of the whole body.
fn run_producers<F>(cpus: &[usize], nr: usize, body: F) -> Res<Vec<Producer>>
where
    F: Fn(usize) -> Res<Option<u64>> + Sync,
{
    let go = Barrier::new(nr);
    thread::scope(|s| {
        let threads: Vec<_> = (0..nr)
            .map(|i| {
                let (cpu, go, body) = (cpus[i % cpus.len()], &go, &body);
                s.spawn(move || -> Res<Producer> {
                    pin(cpu);
                    go.wait();
                    let switches = thread_switches();
                    let start = Instant::now();
                    let own = body(i)?;
                    let elapsed = own.unwrap_or_else(|| start.elapsed().as_nanos() as u64);
                    Ok(Producer {
                        elapsed_ns: elapsed.max(1),
                        switches: thread_switches() - switches,
                    })
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a producer panicked".into()))
            })
            .collect()
    })
}

// --- tiny tasks -------------------------------------------------------------

/// Await `hs` in order; the i-th must return first + i + 1.
async fn join_in_order(hs: &mut Vec<JoinHandle<u64>>, first: usize) -> Res<()> {
    let mut err = Ok(());
    for (i, h) in hs.drain(..).enumerate() {
        let want = (first + i) as u64 + 1;
        let got = h.await;
        if err.is_ok() {
            match got {
                Ok(v) if v == want => {}
                Ok(v) => err = Err(format!("task {} returned {}, not {}", first + i, v, want)),
                Err(e) => err = Err(format!("task {}: {}", first + i, e)),
            }
        }
    }
    err
}

fn spawn_tiny(h: &Handle, arg: u64) -> JoinHandle<u64> {
    h.spawn(async move { arg + 1 })
}

// --- throughput and spawn_all -----------------------------------------------

fn throughput_body(h: &Handle, p: &Params) -> Res<Option<u64>> {
    let mut hs = Vec::with_capacity(p.batch);
    let mut n = 0;
    while n < p.tasks {
        let k = p.batch.min(p.tasks - n);
        for i in 0..k {
            hs.push(spawn_tiny(h, (n + i) as u64));
        }
        h.block_on(join_in_order(&mut hs, n))?;
        n += k;
    }
    Ok(None)
}

/// tasks/s over the slowest producer, and switches per 100 tasks.
fn throughput(h: &Handle, p: &Params, cpus: &[usize], nr: usize) -> Res<(u64, u64)> {
    let prods = run_producers(cpus, nr, |_| throughput_body(h, p))?;
    let slowest = prods.iter().map(|x| x.elapsed_ns).max().unwrap_or(1);
    let switches: u64 = prods.iter().map(|x| x.switches).sum();
    let total = (p.tasks * nr) as u128;
    Ok((
        (total * 1_000_000_000 / slowest as u128) as u64,
        (switches as u128 * 100 / total) as u64,
    ))
}

fn spawn_all(h: &Handle, p: &Params, cpus: &[usize]) -> Res<u64> {
    let prods = run_producers(cpus, 1, |_| {
        let mut hs = Vec::with_capacity(p.tasks);
        let start = Instant::now();
        for i in 0..p.tasks {
            hs.push(spawn_tiny(h, i as u64));
        }
        h.block_on(join_in_order(&mut hs, 0))?;
        Ok(Some(start.elapsed().as_nanos() as u64))
    })?;
    Ok((p.tasks as u128 * 1_000_000_000 / prods[0].elapsed_ns as u128) as u64)
}

// --- detached spawns --------------------------------------------------------

/// Detached tasks of the current run not finished yet.
static DETACHED_LEFT: AtomicUsize = AtomicUsize::new(0);
/// Set if a batch could not be timed as SCHED_FIFO.
static DETACHED_PREEMPTIBLE: AtomicBool = AtomicBool::new(false);

/// Make the calling thread SCHED_FIFO (on) or SCHED_OTHER again; false if
/// that is not permitted.  The module times its detached spawns with
/// preemption off, so that the tasks cannot run in the timed section; a
/// real-time producer bound to its CPU is the nearest thing here: the
/// workers it wakes cannot preempt it.
fn realtime(on: bool) -> bool {
    let (policy, prio) = if on {
        (libc::SCHED_FIFO, 1)
    } else {
        (libc::SCHED_OTHER, 0)
    };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: param is valid; 0 is the calling thread.
    unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
}

fn spawn_detached(h: &Handle, p: &Params, cpus: &[usize]) -> Res<u64> {
    let prods = run_producers(cpus, 1, |_| {
        let mut spent = 0;
        let mut n = 0;
        DETACHED_LEFT.store(p.tasks, Ordering::SeqCst);
        while n < p.tasks {
            let k = p.batch.min(p.tasks - n);
            let rt = realtime(true);
            let start = ticks();
            for _ in 0..k {
                drop(h.spawn(async {
                    DETACHED_LEFT.fetch_sub(1, Ordering::AcqRel);
                }));
            }
            spent += ticks() - start;
            if rt {
                realtime(false);
            } else {
                DETACHED_PREEMPTIBLE.store(true, Ordering::Relaxed);
            }
            n += k;
            // Let the batch run, so that every batch starts from the same
            // place.
            while DETACHED_LEFT.load(Ordering::Acquire) > p.tasks - n {
                thread::yield_now();
            }
        }
        Ok(Some(ticks_ns(spent)))
    })?;
    Ok(prods[0].elapsed_ns / p.tasks as u64)
}

// --- wake-to-poll latency ---------------------------------------------------

/// Two tasks take turns: the one whose turn it is records the time since
/// it was woken, passes the turn, wakes the other and returns Pending.
struct PingPong {
    want: usize,
    turn: AtomicUsize,
    finished: AtomicBool,
    /// ticks() just before the last wake, and the CPU it was read on
    woken: AtomicU64,
    woken_cpu: AtomicI64,
    /// samples whose ends were read on different CPUs
    cross_cpu: AtomicUsize,
    samples: Mutex<Vec<u64>>,
    /// each side's Waker, taken by the other side to wake it
    wakers: [Mutex<Option<Waker>>; 2],
}

struct Side {
    pp: Arc<PingPong>,
    side: usize,
}

impl Future for Side {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = ticks();
        let (pp, side) = (&*self.pp, self.side);

        if pp.finished.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        {
            let mut mine = pp.wakers[side].lock().unwrap();
            if mine.is_none() {
                *mine = Some(cx.waker().clone());
            }
        }
        if pp.turn.load(Ordering::Acquire) != side {
            // The first poll, or a spurious one.
            return Poll::Pending;
        }
        let woken = pp.woken.load(Ordering::Relaxed);
        let finished = {
            let mut samples = pp.samples.lock().unwrap();
            if woken != 0 && samples.len() < pp.want {
                samples.push(now.wrapping_sub(woken));
                if pp.woken_cpu.load(Ordering::Relaxed) != this_cpu() {
                    pp.cross_cpu.fetch_add(1, Ordering::Relaxed);
                }
            }
            samples.len() >= pp.want
        };
        // The other side stored its Waker before it passed the turn.
        let other = pp.wakers[1 - side].lock().unwrap().take();
        if finished {
            pp.finished.store(true, Ordering::Release);
        } else {
            pp.woken_cpu.store(this_cpu(), Ordering::Relaxed);
            pp.woken.store(ticks(), Ordering::Relaxed);
            pp.turn.store(1 - side, Ordering::Release);
        }
        if let Some(w) = other {
            w.wake();
        }
        if finished {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// p50 and p99 in ns, and the samples taken across CPUs.
fn wake_latency(h: &Handle, p: &Params) -> Res<(u64, u64, usize)> {
    let pp = Arc::new(PingPong {
        want: p.samples,
        turn: AtomicUsize::new(0),
        finished: AtomicBool::new(false),
        woken: AtomicU64::new(0),
        woken_cpu: AtomicI64::new(-1),
        cross_cpu: AtomicUsize::new(0),
        samples: Mutex::new(Vec::with_capacity(p.samples)),
        wakers: [Mutex::new(None), Mutex::new(None)],
    });
    let side1 = h.spawn(Side {
        pp: pp.clone(),
        side: 1,
    });
    // Side 1 must be able to be woken before side 0 starts.
    let mut waited = 0;
    while pp.wakers[1].lock().unwrap().is_none() {
        if waited == 10000 {
            return Err("the second side of the ping-pong never ran".into());
        }
        thread::sleep(Duration::from_micros(100));
        waited += 1;
    }
    let side0 = h.spawn(Side {
        pp: pp.clone(),
        side: 0,
    });
    h.block_on(async {
        let a = side0.await;
        let b = side1.await;
        a.and(b)
    })
    .map_err(|e| format!("ping-pong: {}", e))?;

    let mut s = std::mem::take(&mut *pp.samples.lock().unwrap());
    if s.len() < p.samples {
        return Err(format!("ping-pong: {} samples of {}", s.len(), p.samples));
    }
    s.sort_unstable();
    let n = s.len();
    Ok((
        ticks_ns(s[n / 2]),
        ticks_ns(s[(n - 1).min(n * 99 / 100)]),
        pp.cross_cpu.load(Ordering::Relaxed),
    ))
}

/// The same with a thread spinning on every CPU.
fn wake_latency_busy(h: &Handle, p: &Params, cpus: &[usize]) -> Res<(u64, u64, usize)> {
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(cpus.len() + 1);
    thread::scope(|s| {
        for &cpu in cpus {
            let (stop, ready) = (&stop, &ready);
            s.spawn(move || {
                pin(cpu);
                ready.wait();
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        ready.wait();
        let r = wake_latency(h, p);
        stop.store(true, Ordering::Relaxed);
        r
    })
}

// --- forced yield -----------------------------------------------------------

fn forced_yield(h: &Handle, p: &Params) -> Res<u64> {
    let yields = p.yields;
    let task = h.spawn(async move {
        let start = Instant::now();
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
        start.elapsed().as_nanos() as u64
    });
    let ns = h.block_on(task).map_err(|e| format!("yield task: {}", e))?;
    Ok(ns / yields as u64)
}

// --- memory per task --------------------------------------------------------

/// Allocations per 100 spawns and bytes per spawn, by the spawning thread.
fn memory(h: &Handle, cpus: &[usize]) -> Res<(u64, u64)> {
    run_producers(cpus, 1, |_| {
        let mut hs = Vec::with_capacity(MEM_GROUP);
        ALLOCS.store(0, Ordering::SeqCst);
        ALLOC_BYTES.store(0, Ordering::SeqCst);
        for n in (0..MEM_TASKS).step_by(MEM_GROUP) {
            COUNT_HERE.with(|c| c.set(true));
            for i in 0..MEM_GROUP {
                hs.push(spawn_tiny(h, (n + i) as u64));
            }
            // Awaiting frees; only the spawns are counted.
            COUNT_HERE.with(|c| c.set(false));
            h.block_on(join_in_order(&mut hs, n))?;
        }
        Ok(None)
    })?;
    Ok((
        ALLOCS.load(Ordering::SeqCst) * 100 / MEM_TASKS as u64,
        ALLOC_BYTES.load(Ordering::SeqCst) / MEM_TASKS as u64,
    ))
}

// --- the run ----------------------------------------------------------------

fn result(round: usize, figure: &str, value: u64, unit: &str) {
    println!(
        "result round={} figure={} contender=tokio value={} unit={}",
        round, figure, value, unit
    );
}

fn round(h: &Handle, p: &Params, cpus: &[usize], r: usize, cross: &mut usize) -> Res<()> {
    let mut producers = vec![1, 2];
    if cpus.len() > 2 && cpus.len() <= MAX_PRODUCERS {
        producers.push(cpus.len());
    }
    for nr in producers {
        let (v, sw) =
            throughput(h, p, cpus, nr).map_err(|e| format!("throughput_p{}: {}", nr, e))?;
        result(r, &format!("throughput_p{}", nr), v, "tasks/s");
        result(r, &format!("switches_p{}", nr), sw, "switches/100");
    }

    let v = spawn_all(h, p, cpus).map_err(|e| format!("spawn_all: {}", e))?;
    result(r, "spawn_all", v, "tasks/s");

    let v = spawn_detached(h, p, cpus).map_err(|e| format!("spawn_detached: {}", e))?;
    result(r, "spawn_detached", v, "ns");

    let (p50, p99, x) = wake_latency(h, p).map_err(|e| format!("wake: {}", e))?;
    result(r, "wake_p50", p50, "ns");
    result(r, "wake_p99", p99, "ns");
    *cross += x;
    let (p50, p99, x) = wake_latency_busy(h, p, cpus).map_err(|e| format!("wake_busy: {}", e))?;
    result(r, "wake_busy_p50", p50, "ns");
    result(r, "wake_busy_p99", p99, "ns");
    *cross += x;

    let v = forced_yield(h, p).map_err(|e| format!("forced_yield: {}", e))?;
    result(r, "forced_yield", v, "ns");

    let (allocs, bytes) = memory(h, cpus).map_err(|e| format!("memory: {}", e))?;
    result(r, "allocs_per_task_x100", allocs, "allocs/100");
    result(r, "bytes_per_task", bytes, "B");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: ktask-tokio-bench [rounds=7] [tasks=20000] [batch=32] [samples=10000] \
             [yields=50000] [clock=tsc|monotonic]"
        );
        return;
    }
    let p = Params::parse(args.into_iter()).unwrap_or_else(|e| {
        eprintln!("ktask-tokio-bench: {}", e);
        exit(2);
    });
    let cpus = online_cpus();
    let clock = if p.tsc {
        calibrate(cpus[0])
    } else {
        "monotonic"
    };
    let rt = Builder::new_multi_thread()
        .worker_threads(cpus.len())
        .thread_name("tokio-bench")
        .build()
        .unwrap_or_else(|e| {
            println!("ktask_bench tokio: error: cannot build the runtime: {}", e);
            exit(1);
        });
    let h = rt.handle().clone();

    println!(
        "ktask_bench tokio: version=1 cpus={} workers={} rounds={} tasks={} batch={} \
         samples={} yields={} clock={} tsc_khz={}",
        cpus.len(),
        cpus.len(),
        p.rounds,
        p.tasks,
        p.batch,
        p.samples,
        p.yields,
        clock,
        TSC_KHZ.load(Ordering::Relaxed)
    );
    let start = Instant::now();
    let mut cross = 0;
    for r in 0..p.rounds {
        if let Err(e) = round(&h, &p, &cpus, r, &mut cross) {
            println!("ktask_bench tokio: error round={}: {}", r, e);
            exit(1);
        }
    }
    println!(
        "ktask_bench tokio: done in {} ms; wake samples across CPUs: {}; \
         spawn_detached timed {}",
        start.elapsed().as_millis(),
        cross,
        if DETACHED_PREEMPTIBLE.load(Ordering::Relaxed) {
            "preemptible (SCHED_FIFO not permitted)"
        } else {
            "as SCHED_FIFO"
        }
    );
}
