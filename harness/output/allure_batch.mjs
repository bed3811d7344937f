// Build several Allure 3 reports in one Node process: what `allure generate` does per report
// (node_modules/allure/dist/commands/commons/generate.js), minus starting Node and loading
// Allure again for each one, which cost about a second of CPU per group report.
//   node allure_batch.mjs CORE_URL RESULTS_DIR CONFIG_JSON [RESULTS_DIR CONFIG_JSON ...]
// CORE_URL is the file: URL of @allurereport/core next to the pinned CLI.
const [coreUrl, ...pairs] = process.argv.slice(2);
const { readConfig, AllureReport } = await import(coreUrl);
for (let i = 0; i < pairs.length; i += 2) {
  const [results, configPath] = [pairs[i], pairs[i + 1]];
  try {
    const config = await readConfig(process.cwd(), configPath, {});
    const report = new AllureReport(config);
    await report.start();
    await report.readDirectory(results);
    await report.done();
    console.log(`built ${config.output}`);
  } catch (error) {
    console.error(`allure failed on ${results}:`, error);
    process.exit(1);
  }
}
