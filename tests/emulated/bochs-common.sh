# bochs-common.sh — sourced by run-bochs.sh and linux-suite.sh: the Bochs
# settings every run has, and how Bochs is started.
#
# Debian's bochs has neither a "nogui" display nor a build without the
# internal debugger.  rfb with timeout=0 runs without a display and does not
# wait for a VNC client, but it listens on 0.0.0.0:5900, and a second Bochs
# fails to bind and crashes; so each run gets a private network namespace
# where port 5900 is always free and unreachable from outside.  The debugger
# stops before the first instruction; a command file says continue.  Panics
# and triple faults end Bochs instead of asking (a guest's "Shutdown" write
# to port 0x8900 is such a panic).  ips only scales emulated time, not
# speed; sync=none never waits.

#
# Another Bochs may be named instead of Debian's (Debian 12's 2.7 has no
# CPU model with AMX or AVX512-BF16; Bochs 3 has sapphire_rapids):
#   MC_BOCHS          its binary (default bochs-bin)
#   MC_BOCHS_BIOS, MC_BOCHS_VGABIOS   its ROM images (default Debian's)
#   MC_BOCHS_DISPLAY  its display_library line (default the rfb one above;
#                     a build with --with-nogui takes "nogui")
# Its bochsrc has no sound line, which a build without sound refuses.
# It must have the internal debugger (the continue file below).
bochs_bin=${MC_BOCHS:-bochs-bin}

# The bochsrc lines shared by every run, to stdout.
bochs_common_config () {
  local sound="sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy"
  [ -n "${MC_BOCHS:-}" ] && sound=
  cat <<EOF
display_library: ${MC_BOCHS_DISPLAY:-rfb, options="timeout=0"}
romimage: file=${MC_BOCHS_BIOS:-/usr/share/bochs/BIOS-bochs-latest}
vgaromimage: file=${MC_BOCHS_VGABIOS:-/usr/share/vgabios/vgabios.bin}
magic_break: enabled=0
speaker: enabled=0
$sound
panic: action=fatal
error: action=report
debug: action=ignore
EOF
}

# bochs_exec LIMIT_S BOCHSRC: replaces the calling (sub)shell by Bochs under
# timeout(1), stdin from /dev/null; call it in a subshell.  unshare -r also
# works unprivileged where user namespaces are allowed; without a namespace
# every Bochs listens on the same port, so runs take turns under a lock (the
# two emulated tests may start together).
bochs_exec () {
  local netns="unshare -rn"
  $netns true 2>/dev/null || netns=
  if [ -z "$netns" ] && command -v flock >/dev/null; then
    exec 9> "${TMPDIR:-/tmp}/mobileclip-bochs-rfb.lock"
    flock 9
  fi
  echo c > "$2.debugger-rc"
  exec timeout -k 5 "$1" $netns "$bochs_bin" -q -f "$2" -rc "$2.debugger-rc" < /dev/null
}
