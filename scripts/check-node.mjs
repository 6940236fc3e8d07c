// npm runs scripts with node_modules/.bin first on PATH, so `node` here is the node@22 devDependency.
// This guard turns a broken install (wrong node picked up) into a clear message instead of odd failures.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `Node ${process.versions.node} is running npm scripts; this project needs Node 22. ` +
      'Run `npm ci` so the node@22 devDependency lands in node_modules/.bin.',
  );
  process.exit(1);
}
