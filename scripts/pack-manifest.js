#!/usr/bin/env node
// `npm pack` / `npm publish` helper: the packed package.json must not carry the `prepare`
// script. The tarball already holds the built dist/, and npm warns about install scripts
// of every package it installs; `prepare` is only needed by a clone or a git-URL install,
// which build from source. `prepack` runs `strip` (prepare → _prepare), `postpack` runs
// `restore`, so the working copy keeps its `prepare` (as pinst does for postinstall).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
const text = readFileSync(file, 'utf8');
const [from, to] = process.argv[2] === 'restore' ? ['"_prepare":', '"prepare":'] : ['"prepare":', '"_prepare":'];
if (text.includes(from)) writeFileSync(file, text.replace(from, to));
