/**
 * A gst-launch whose pipeline description stays out of every argv: stream URLs carry stream keys and SRT
 * passphrases, /proc/<pid>/cmdline is readable by every user of the host, and gst-launch-1.0 takes its
 * pipeline only from argv. Debian's Python with GObject introspection runs a small program it reads from fd 3,
 * the description embedded in it; it does what `gst-launch-1.0 -e -m` does for what GstLaunch
 * reads: bus messages on stdout, errors on stderr, EOS on SIGINT, exit 0 after EOS and 1 after an error.
 */

/** Debian's interpreter: python3-gi and the GStreamer typelib are installed for it, not for another one. */
const PYTHON = '/usr/bin/python3';

/** The process name the recorder, the reaper and the test leftover checks know gst-launch by. */
const NAME = 'gst-launch-1.0';

// Formats follow gst-launch 1.22 (tools/gst-launch.c), so GstLaunch parses both alike.
const PROGRAM = String.raw`
import ctypes, signal, sys
# PR_SET_NAME first: comm is what ps, pgrep and the leftover checks match.
ctypes.CDLL(None).prctl(15, b'${NAME}', 0, 0, 0)
import gi
gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst

def out(line, err=False):
    (sys.stderr if err else sys.stdout).write(line + '\n')

def describe(msg):
    src = msg.src
    if isinstance(src, Gst.Element):
        origin = 'element "%s"' % src.get_name()
    elif isinstance(src, Gst.Pad):
        origin = 'pad "%s:%s"' % (src.get_parent().get_name() if src.get_parent() else '', src.get_name())
    elif isinstance(src, Gst.Object):
        origin = 'object "%s"' % src.get_name()
    else:
        origin = None
    s = msg.get_structure()
    head = 'Got message #%d from %s (%s): ' % (msg.seqnum, origin, Gst.MessageType.get_name(msg.type)) if origin \
        else 'Got message #%d (%s): ' % (msg.seqnum, Gst.MessageType.get_name(msg.type))
    return head + (s.to_string() if s else 'no message details')

def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    Gst.init(None)
    try:
        pipeline = Gst.parse_launchv(argv)
    except GLib.Error as e:
        out('WARNING: erroneous pipeline: %s' % e.message, True)
        sys.exit(1)
    loop = GLib.MainLoop()
    state = {'rc': 0, 'eos_sent': False}

    def on_message(bus, msg):
        out(describe(msg))
        t = msg.type
        if t == Gst.MessageType.EOS:
            out('Got EOS from element "%s".' % msg.src.get_name())
            loop.quit()
        elif t in (Gst.MessageType.ERROR, Gst.MessageType.WARNING):
            error, debug = msg.parse_error() if t == Gst.MessageType.ERROR else msg.parse_warning()
            kind = 'ERROR' if t == Gst.MessageType.ERROR else 'WARNING'
            out('%s: from element %s: %s' % (kind, msg.src.get_path_string(), error.message), kind == 'ERROR')
            if debug:
                out('Additional debug info:\n%s' % debug, kind == 'ERROR')
            if kind == 'ERROR':
                state['rc'] = 1
                loop.quit()
        elif t == Gst.MessageType.CLOCK_LOST:
            pipeline.set_state(Gst.State.PAUSED)
            pipeline.set_state(Gst.State.PLAYING)
        elif t == Gst.MessageType.LATENCY:
            pipeline.recalculate_latency()
        elif t == Gst.MessageType.REQUEST_STATE:
            pipeline.set_state(msg.parse_request_state())
        return True

    def on_interrupt():
        out('handling interrupt.')
        if not state['eos_sent']:
            state['eos_sent'] = True
            out('EOS on shutdown enabled -- Forcing EOS on the pipeline')
            pipeline.send_event(Gst.Event.new_eos())
        return True

    bus = pipeline.get_bus()
    bus.add_watch(GLib.PRIORITY_DEFAULT, on_message)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, on_interrupt)
    out('Setting pipeline to PLAYING ...')
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg:
            on_message(bus, msg)
        out('ERROR: pipeline doesn\'t want to play.', True)
        state['rc'] = 1
    else:
        loop.run()
    out('Setting pipeline to NULL ...')
    pipeline.set_state(Gst.State.NULL)
    sys.exit(state['rc'])
`;

/** How to spawn a pipeline privately: `spawn(command, args, { argv0 })`, then write `program` to its fd 3. */
export interface PrivateLaunch {
  command: string;
  argv0: string;
  args: string[];
  program: string;
}

/** The launch of `pipeline` (gst-launch's arguments after `-e -m`) with nothing of it in argv. */
export function privateLaunch(pipeline: string[]): PrivateLaunch {
  // A JSON array of strings is a Python list literal; parse_launchv joins and escapes it as gst-launch does.
  return {
    command: PYTHON,
    argv0: NAME,
    // -u: lines reach GstLaunch as they are written; -I: no PYTHON* variables or user site-packages. Node's
    // stdio pipes are sockets, which /dev/fd/3 cannot open: the program is read from the descriptor itself.
    args: ['-u', '-I', '-c', 'exec(open(3).read())'],
    program: `${PROGRAM}\nmain(${JSON.stringify(pipeline)})\n`,
  };
}
