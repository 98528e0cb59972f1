// The open API's reference (Swagger UI from npm, bundled by build.mjs and served by Backbone
// itself: the page fetches nothing from elsewhere). The document's address comes from the page.
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

const root = document.getElementById("api-reference");
if (root) {
  SwaggerUIBundle({
    domNode: root,
    url: root.dataset.specUrl,
    deepLinking: true,
    defaultModelsExpandDepth: 0,
    validatorUrl: null, // the default validator is a remote service
  });
}
