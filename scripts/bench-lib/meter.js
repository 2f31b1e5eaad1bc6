// Server-side meter for the in-process simulator: how many work package elements it
// rendered in full (the ones its latency model charges per element) and how many body
// bytes it sent. The simulator's request log names routes but not element counts, so we
// read them off the response bodies as they leave. Only this (bench) process is patched;
// curate runs as a separate process and is untouched.
import http from 'node:http';

const FULL_PREFIX = Buffer.from('{"_type":"WorkPackageCollection"');
// Only fully rendered pages embed schemas; the cheap `select=` id listings do not
// (src/simulator/server.ts charges per-element cost only for the former).
const SCHEMAS = Buffer.from('"schemas":{"_type":"Collection"');
const COUNT = /"count":(\d+)/;

export function installMeter() {
  const state = { elements: 0, bytes: 0 };
  const original = http.ServerResponse.prototype.end;
  http.ServerResponse.prototype.end = function end(chunk, ...rest) {
    if (Buffer.isBuffer(chunk)) {
      state.bytes += chunk.length;
      if (chunk.subarray(0, FULL_PREFIX.length).equals(FULL_PREFIX) && chunk.indexOf(SCHEMAS) !== -1) {
        const m = COUNT.exec(chunk.subarray(0, 200).toString('latin1'));
        if (m) state.elements += Number(m[1]);
      }
    } else if (typeof chunk === 'string') {
      state.bytes += Buffer.byteLength(chunk);
    }
    return original.call(this, chunk, ...rest);
  };
  return {
    read: () => ({ ...state }),
    reset: () => {
      state.elements = 0;
      state.bytes = 0;
    },
    uninstall: () => {
      http.ServerResponse.prototype.end = original;
    },
  };
}
