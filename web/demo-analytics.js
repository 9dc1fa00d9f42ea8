// A stand-in for an analytics tag. The page carries it as
// <script type="text/plain" data-category="analytics">: it runs only after consent.
(() => {
  window.demoAnalyticsRuns = (window.demoAnalyticsRuns || 0) + 1;
  const status = document.getElementById('analytics-status');
  if (status) {
    status.dataset.ran = 'true';
    status.innerHTML = 'Analytics script: <strong>ran</strong> at ' + new Date().toLocaleTimeString('en-GB');
  }
})();
