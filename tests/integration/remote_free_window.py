# remote_free_window.py: gdb script for remote_free_window.sh, which runs
# the program with its mode (trim, exit or huge) in $PM_WINDOW_MODE. It stops the
# main thread's free of the owner's block at the one lock cmpxchg of
# _pm_slab_free_remote (exit mode) or at the instruction after it (trim
# mode), or on its way into _pm_huge_free (huge mode), lets the other
# thread alone run to owner_done (after its malloc_trim, its exit hook, or
# its own free of the huge block), then resumes every thread. The
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


if mode == "huge":
    # The late free, on its way into huge.c; only this thread's.
    gdb.execute("break _pm_huge_free thread %d" % gdb.selected_thread().num)
else:
    listing = gdb.execute("disassemble _pm_slab_free_remote", to_string=True)
    lines = [line for line in listing.splitlines() if "cmpxchg" in line or "<+" in line]
    index = next(i for i, line in enumerate(lines) if "cmpxchg" in line)
    gdb.execute("break *" + address_of(lines[index + 1 if mode == "trim" else index]))
gdb.execute("continue")
print("### freer stopped (%s)" % mode)
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
print("### owner done")
freer.switch()
gdb.execute("delete")
gdb.execute("set scheduler-locking off")

status = None


def on_exit(event):
    global status
    if status is None:  # not after a signal, whose kill below ends the inferior
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
