// A stand-in for a marketing tag. The page carries it as
// <script type="text/plain" data-category="marketing">: it runs only after consent.
(() => {
  window.demoMarketingRuns = (window.demoMarketingRuns || 0) + 1;
  const status = document.getElementById('marketing-status');
  if (status) {
    status.dataset.ran = 'true';
    status.innerHTML = 'Marketing script: <strong>ran</strong> at ' + new Date().toLocaleTimeString('en-GB');
  }
})();
