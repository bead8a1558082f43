# remote_free_window.py: gdb script for remote_free_window.sh, which runs
# the program with its mode (trim or exit) in $PM_WINDOW_MODE. It stops the
# main thread's free of the owner's block at the one lock cmpxchg of
# _pm_slab_free_remote (exit mode) or at the instruction after it (trim
# mode), lets the owner thread alone run to owner_done (after its
# malloc_trim, or after its exit hook), then resumes every thread. The
# inferior's exit status goes to the file named by $PM_GDB_STATUS ("signal
# NAME" if a signal stopped it).
import os

import gdb

mode = os.environ["PM_WINDOW_MODE"]
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set args " + mode)
gdb.execute("break before_remote_free")
gdb.execute("run")


def address_of(line):
    # "   0x00007ffff7fb1234 <+65>:\tlock cmpxchg ..." or "=> 0x... <+65>: ..."
    return [word for word in line.split() if word.startswith("0x")][0]


listing = gdb.execute("disassemble _pm_slab_free_remote", to_string=True)
lines = [line for line in listing.splitlines() if "cmpxchg" in line or "<+" in line]
index = next(i for i, line in enumerate(lines) if "cmpxchg" in line)
gdb.execute("break *" + address_of(lines[index + 1 if mode == "trim" else index]))
gdb.execute("continue")
print("### freer stopped %s publishing the block" % ("after" if mode == "trim" else "before"))
gdb.execute("set scheduler-locking on")
gdb.execute("set var owner_may_go = 1")
owner_tid = int(gdb.parse_and_eval("owner_tid"))
freer = gdb.selected_thread()
owner = [thread for thread in gdb.selected_inferior().threads() if thread.ptid[1] == owner_tid]
if not owner:
    raise gdb.GdbError("owner thread not found")
owner[0].switch()
gdb.execute("break owner_done")
gdb.execute("continue")
print("### owner done: " + ("trimmed" if mode == "trim" else "its exit hook abandoned the slab"))
freer.switch()
gdb.execute("delete")
gdb.execute("set scheduler-locking off")

status = None


def on_exit(event):
    global status
    status = str(event.exit_code) if hasattr(event, "exit_code") else "unknown"


def on_stop(event):
    global status
    if isinstance(event, gdb.SignalEvent):
        status = "signal " + event.stop_signal


gdb.events.exited.connect(on_exit)
gdb.events.stop.connect(on_stop)
gdb.execute("continue")
if status is None or status.startswith("signal"):
    gdb.execute("bt 4")
    gdb.execute("kill")
with open(os.environ["PM_GDB_STATUS"], "w") as out:
    out.write(str(status) + "\n")
