// Starts Swagger UI on /api/docs. A file of its own, not an inline script, so the page's
// Content-Security-Policy can allow scripts from this origin only.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never ask an outside validator about our document
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
