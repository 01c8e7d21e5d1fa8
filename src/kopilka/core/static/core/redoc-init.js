/* Starts ReDoc from a file rather than an inline script, so the page works under our CSP. */
const settings = JSON.parse(document.getElementById("redoc-settings").textContent);
Redoc.init(document.body.dataset.openapiUrl, settings, document.getElementById("redoc-ui"));
