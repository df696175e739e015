import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseElementMessage } from './bus-message.js';

test('reads splitmuxsink and multifilesink messages as gst-launch prints them', () => {
  const closed = parseElementMessage(
    'Got message #210 from element "seg" (element): splitmuxsink-fragment-closed, location=(string)seg_00000.ts, running-time=(guint64)2007763938, sink=(GstElement)"\\(GstFileSink\\)\\ sink";',
  );
  assert.deepEqual(closed, {
    element: 'seg',
    name: 'splitmuxsink-fragment-closed',
    fields: { location: 'seg_00000.ts', 'running-time': 2007763938, sink: '(GstFileSink) sink' },
  });
  const image = parseElementMessage(
    'Got message #466 from element "img0" (element): GstMultiFileSink, filename=(string)/tmp/gx/i_00000.jpeg, index=(int)0, timestamp=(guint64)0, stream-time=(guint64)0, running-time=(guint64)0, duration=(guint64)500000000, offset=(guint64)18446744073709551615, offset-end=(guint64)18446744073709551615;',
  );
  assert.equal(image?.element, 'img0');
  assert.equal(image?.fields.filename, '/tmp/gx/i_00000.jpeg');
  assert.equal(image?.fields.index, 0);
  assert.equal(image?.fields.duration, 500000000);
});

test('unquotes paths with spaces and ignores other lines', () => {
  const m = parseElementMessage(
    'Got message #9 from element "seg" (element): splitmuxsink-fragment-opened, location=(string)"/tmp/a\\ dir/s_00001.ts", running-time=(guint64)5;',
  );
  assert.equal(m?.fields.location, '/tmp/a dir/s_00001.ts');
  assert.equal(m?.fields['running-time'], 5);
  assert.equal(
    parseElementMessage('Got message #1 from element "pipeline0" (state-changed): GstMessageStateChanged'),
    undefined,
  );
  assert.equal(parseElementMessage('Setting pipeline to PLAYING ...'), undefined);
});
