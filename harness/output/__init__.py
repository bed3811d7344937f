"""What a run leaves behind: each test's Allure result (allure_results, written to disk by
allure_writer), the run-level files in allure-results (allure_files), the HTML report with its
history, groups and overview (report), and the SARIF export (sarif).

Nothing here imports the pytest session; the session calls in.
"""
