#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-run.sh --job NAME: boot a kernel under qemu with an initramfs holding
# busybox, the built modules and the job, and turn the guest's verdict into
# the exit status.
#
# A job is two files in scripts/jobs/:
#   NAME.sh     host side, sourced here (bash). May set
#                 job_load=(mod ...)  modules the guest loads, in order,
#                                     before the job (unloaded in reverse
#                                     after it); default: ktask
#                 job_append="..."    kernel command line the job needs
#                                     (before KTASK_APPEND)
#                 job_silence=N       seconds of silence (nothing new on
#                                     the console or the job channel) after
#                                     which the guest counts as hung;
#                                     default 0: no limit but the timeout
#               and define
#                 job_stage ROOT      add files to the guest's root
#                 job_report OUT      after the run: print a summary and
#                                     return non-zero on failure
#   NAME.guest  guest side (busybox sh), run as /ktask/job; its output is
#               the job log. A non-zero exit fails the job.
#
# Every *.ko under KTASK_MODDIR is put in the guest's /ktask/modules.
# The run fails on a missing or failing verdict, a host timeout, or a
# kernel report (oops, WARN, lockdep, KASAN, ...) in the console log.
#
# A guest must not hang silently (on PREEMPT_RT the console prints from a
# thread, so a kernel stuck in interrupts shows nothing): a soft lockup, a
# hung task or an RCU stall panics it (kernel command line), the panic
# prints what the log holds, and the guest reboots, which ends qemu
# (-no-reboot). A guest silent for job_silence (KTASK_SILENCE) seconds gets
# an NMI through qemu's monitor, which panics it the same way
# (unknown_nmi_panic), and is killed 30 s later if it still runs.
#
# Environment:
#   KTASK_KERNEL   kernel image (default: /boot/vmlinuz-<KDIR's release>)
#   KTASK_MODDIR   tree to take the *.ko files from (default: the repo)
#   KTASK_OUT      output directory (default: out/<job>)
#   KTASK_TIMEOUT  host-side limit in seconds (default: 600)
#   KTASK_KVM=1    use KVM (when /dev/kvm works) instead of TCG
#   KTASK_TCG_THREAD  TCG's threading: multi (default: one host thread per
#                  vCPU) or single (all vCPUs take turns on one thread)
#   KTASK_SMP, KTASK_MEM  guest CPUs (2) and memory (2G)
#   KTASK_SLOW     how many times slower than the distribution kernel the
#                  guest runs (default 1; a debug kernel: 4). The guest
#                  reads it from /ktask/slow and scales its timeouts by it.
#   KTASK_APPEND   extra kernel command line
#   KTASK_SILENCE  seconds of silence before the NMI (default: the job's
#                  job_silence times KTASK_SLOW; 0: never)
#   KDIR           kernel build dir, to find the default kernel image
#
# Output in KTASK_OUT: console.log (the whole serial console: kernel and
# guest), job.log (only the job's output and the verdict), initramfs.cpio.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

job=
while (($#)); do
	case $1 in
	--job) job=${2:?--job needs a name}; shift 2 ;;
	--job=*) job=${1#--job=}; shift ;;
	-h|--help) usage ;;
	*) usage 2 >&2 ;;
	esac
done
[[ -n "$job" ]] || usage 2 >&2
[[ -r "$KTASK_SRC/scripts/jobs/$job.sh" && -r "$KTASK_SRC/scripts/jobs/$job.guest" ]] ||
	die "no job '$job' in scripts/jobs/"

if [[ -z "${KTASK_KERNEL:-}" ]]; then
	KTASK_KERNEL=/boot/vmlinuz-$(ktask_kver "$(ktask_kdir)")
fi
[[ -r "$KTASK_KERNEL" ]] || die "cannot read kernel image $KTASK_KERNEL (set KTASK_KERNEL)"
KTASK_MODDIR=$(cd "${KTASK_MODDIR:-$KTASK_SRC}" && pwd)
out=${KTASK_OUT:-$KTASK_SRC/out/$job}
timeout=${KTASK_TIMEOUT:-600}

job_load=(ktask)
job_append=
job_silence=0
job_stage() { :; }
job_report() { :; }
# shellcheck source=/dev/null
. "$KTASK_SRC/scripts/jobs/$job.sh"

# --- the initramfs -------------------------------------------------------
rm -rf "$out"
root=$out/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,ktask/modules}

busybox=$(command -v busybox) || die "busybox missing: run scripts/deps.sh"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
	[[ -e "$root/$applet" ]] || ln -s /bin/busybox "$root/$applet"
done
# kselftest's runner calls /usr/bin/timeout --foreground, which busybox's
# timeout does not know.
rm -f "$root/usr/bin/timeout"
cat >"$root/usr/bin/timeout" <<'EOF'
#!/bin/sh
[ "$1" = --foreground ] && shift
exec /bin/busybox timeout "$@"
EOF
chmod +x "$root/usr/bin/timeout"
if ((EUID == 0)); then
	mknod -m 600 "$root/dev/console" c 5 1
fi
cp "$KTASK_SRC/scripts/guest-init.sh" "$root/init"
chmod +x "$root/init"

while IFS= read -r -d '' ko; do
	[[ -e "$root/ktask/modules/${ko##*/}" ]] && die "two modules named ${ko##*/} in $KTASK_MODDIR"
	cp "$ko" "$root/ktask/modules/"
done < <(find "$KTASK_MODDIR" \( -path "$KTASK_MODDIR/out" -o -path "$KTASK_MODDIR/build" \) \
	-prune -o -name '*.ko' -print0)
for m in "${job_load[@]}"; do
	[[ -e "$root/ktask/modules/$m.ko" ]] || die "$m.ko not found under $KTASK_MODDIR: run make"
done
# An empty list: a job that loads its modules itself.
: >"$root/ktask/load"
((${#job_load[@]} == 0)) || printf '%s\n' "${job_load[@]}" >"$root/ktask/load"
cp "$KTASK_SRC/scripts/jobs/$job.guest" "$root/ktask/job"
cp "$KTASK_SRC/scripts/kcsan.ignore" "$root/ktask/kcsan.ignore"
slow=${KTASK_SLOW:-1}
[[ "$slow" =~ ^[1-9][0-9]*$ ]] || die "KTASK_SLOW must be a positive integer"
echo "$slow" >"$root/ktask/slow"
job_stage "$root"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out/initramfs.cpio"

# --- the VM --------------------------------------------------------------
# shellcheck disable=SC2054 # the commas are qemu's
tcg_thread=${KTASK_TCG_THREAD:-multi}
[[ "$tcg_thread" == multi || "$tcg_thread" == single ]] ||
	die "KTASK_TCG_THREAD must be multi or single"
accel=(-accel "tcg,thread=$tcg_thread" -cpu max)
if [[ "${KTASK_KVM:-0}" == 1 ]]; then
	[[ -r /dev/kvm && -w /dev/kvm ]] || die "KTASK_KVM=1 but /dev/kvm is not usable"
	accel=(-accel kvm -cpu host)
fi
silence=${KTASK_SILENCE:-$((job_silence * slow))}
[[ "$silence" =~ ^[0-9]+$ ]] || die "KTASK_SILENCE must be a number of seconds"
# Whatever stops the guest for good panics it, and the panic prints the
# log (see the header).
append="console=ttyS0 panic=-1 softlockup_all_cpu_backtrace=1 softlockup_panic=1"
append+=" hung_task_panic=1 sysctl.kernel.panic_on_rcu_stall=1 unknown_nmi_panic=1"
# No PS/2 keyboard or mouse: nothing uses them, and their probe at boot,
# before init can filter KCSAN's reports, raced in the kernel's own driver
# (data-race in ps2_do_sendbyte / ps2_handle_response on the KCSAN kernel).
append+=" i8042.nokbd i8042.noaux"
append+=" $job_append ${KTASK_APPEND:-}"

: >"$out/job.log"
# qemu's monitor, for the NMI: a pair of FIFOs that qemu opens read-write.
rm -f "$out/monitor.in" "$out/monitor.out"
mkfifo "$out/monitor.in" "$out/monitor.out"
echo "vm-run: $job: booting $KTASK_KERNEL (log: ${out#"$KTASK_SRC"/}/console.log)"
start=$SECONDS
timeout -k 10 "$timeout" qemu-system-x86_64 "${accel[@]}" \
	-smp "${KTASK_SMP:-2}" -m "${KTASK_MEM:-2G}" -nographic -no-reboot \
	-kernel "$KTASK_KERNEL" -initrd "$out/initramfs.cpio" -append "$append" \
	-chardev file,id=job,path="$out/job.log",append=on -serial mon:stdio -serial chardev:job \
	-chardev pipe,id=mon,path="$out/monitor" -mon chardev=mon,mode=readline \
	</dev/null >"$out/console.log" 2>&1 &
qemu=$!

# watch_silence: once neither log has grown for $silence seconds, send the
# guest an NMI, note it in $out/silent, and kill qemu if it is still there
# 30 s later.
watch_silence() {
	local last=-1 size quiet=0

	while kill -0 "$qemu" 2>/dev/null; do
		size=$(($(stat -c %s "$out/console.log") + $(stat -c %s "$out/job.log")))
		if ((size != last)); then
			last=$size
			quiet=0
		elif ((++quiet >= silence)); then
			echo "$silence" >"$out/silent"
			# shellcheck disable=SC2016 # expanded by sh
			timeout 5 sh -c 'echo nmi >"$1"' sh "$out/monitor.in" || true
			sleep 30
			kill "$qemu" 2>/dev/null || true
			return
		fi
		# The monitor's replies: nobody reads them but us.
		timeout 0.1 cat "$out/monitor.out" >/dev/null 2>&1 || true
		sleep 1
	done
}
watcher=
if ((silence > 0)); then
	watch_silence &
	watcher=$!
fi
# Show the job's output as it comes; the console log stays in the file.
tail -n +1 -f --pid="$qemu" "$out/job.log" | sed -u 's/\r$//'
rc=0
wait "$qemu" || rc=$?
if [[ -n "$watcher" ]]; then
	kill "$watcher" 2>/dev/null || true
	wait "$watcher" 2>/dev/null || true
fi

# --- the verdict ---------------------------------------------------------
ok=1
if [[ -e "$out/silent" ]]; then
	echo "vm-run: $job: FAIL: guest silent for $(cat "$out/silent")s (KTASK_SILENCE): hung; sent it an NMI"
	ok=0
fi
panic=$(tr -d '\r' <"$out/console.log" | grep -m 1 -o 'Kernel panic - not syncing: .*' || true)
if [[ -n "$panic" ]]; then
	echo "vm-run: $job: FAIL: guest panicked: ${panic#Kernel panic - not syncing: }"
	ok=0
fi
if ((rc == 124 || rc == 137)); then
	echo "vm-run: $job: FAIL: no power-off within ${timeout}s (KTASK_TIMEOUT); qemu killed"
	ok=0
elif ((rc != 0)); then
	echo "vm-run: $job: FAIL: qemu exited with status $rc"
	tail -n 5 "$out/console.log"
	ok=0
fi
verdict=$(tr -d '\r' <"$out/job.log" | sed -n 's/^KTASK-VERDICT: //p' | tail -n 1)
case $verdict in
PASS) ;;
FAIL) echo "vm-run: $job: FAIL: the guest reported failure"; ok=0 ;;
*) echo "vm-run: $job: FAIL: no verdict from the guest (crash or timeout?)"; ok=0 ;;
esac

# Anything the kernel reports as a bug fails the run, whatever the tests said.
# Most also print "BUG:" or "WARNING:"; they are listed by name so that
# none depends on that.
reports=(
	'Oops' 'BUG:' 'WARNING:' '------------\[ cut here \]' 'kernel BUG at'
	'possible recursive locking' 'circular locking' 'inconsistent lock state'
	'INFO: possible' 'Invalid wait context' 'suspicious RCU usage'
	'sleeping function called from invalid context'
	'KASAN' 'UBSAN' 'KCSAN: data-race' 'BUG: KCSAN' 'ODEBUG'
	'RCU stall' 'rcu_[a-z]+ detected stalls' 'rcu: INFO:'
	'INFO: task .* blocked for more than' 'soft lockup' 'workqueue lockup'
	'Kernel panic' 'general protection fault' 'refcount_t:'
	'list_(add|del) corruption'
)
grep_args=()
for r in "${reports[@]}"; do
	grep_args+=(-e "$r")
done
# A test that provokes a report on purpose (test_report.sh) logs
# "ktask-expect-report: begin CASE" and "... end CASE" around it, and
# checks the report itself: what is between the marks is not scanned. A
# window left open hides the rest of the log, so it fails the run.
# Windows are matched by case name. A console that was interrupted mid-line
# prints the cut line, then "** replaying previous printk message **" and
# the whole line again (seen on PREEMPT_RT): the cut copy is dropped first.
if ! awk '/\*\* replaying previous printk message \*\*/ { held = 0; next }
	held { print prev }
	{ prev = $0; held = 1 }
	END { if (held) print prev }' "$out/console.log" |
	awk '{ sub(/\r$/, "") }
	/ktask-expect-report: begin / { open[$NF] = 1 }
	!length(open) { print }
	/ktask-expect-report: end / { delete open[$NF] }
	END { exit length(open) ? 1 : 0 }' >"$out/console.scanned.log"; then
	echo "vm-run: $job: FAIL: an expected-report window was never closed"
	ok=0
fi
if grep -n -E "${grep_args[@]}" "$out/console.scanned.log" >"$out/reports.txt"; then
	echo "vm-run: $job: FAIL: kernel reports in the console log:"
	head -n 20 "$out/reports.txt"
	ok=0
fi
if ((!ok)) && grep -q 'ktask_test: .*assertion failed' "$out/console.log"; then
	echo "vm-run: $job: failed assertions:"
	grep -o 'ktask_test: .*assertion failed.*' "$out/console.log" | tr -d '\r'
fi

echo "vm-run: $job: $( ((ok)) && echo PASS || echo FAIL) in $((SECONDS - start))s; logs in ${out#"$KTASK_SRC"/}/"
report=0
job_report "$out" || report=$?
((ok && report == 0))
