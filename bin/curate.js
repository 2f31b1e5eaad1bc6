#!/usr/bin/env node
// The CLI as scripts/bundle.js builds it (dist/cli/main.js is the same code, unbundled).
import '../dist/bundle/main.js';
