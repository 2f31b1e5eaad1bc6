#!/usr/bin/env node
// The CLI as scripts/bundle.js builds it (dist/cli/main.js is the same code, unbundled),
// run by bin/load-bundle.js with V8's code cache. CommonJS (bin/package.json), which Node
// starts sooner than an ES module (bin/load-bundle.js says by how much).
// libuv's thread pool (file reads and writes, fsyncs, hashing) takes its size from the
// environment when it is first used, so it is sized here, before the CLI is loaded, unless
// the user chose one: a sync's staged files are fsynced in the background by up to twelve
// of its threads (src/output/staging.ts), which leaves libuv's default four to the rest.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '16';
require('./load-bundle.js').runBundle();
