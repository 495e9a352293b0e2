/* POST forms in cached page bodies carry no CSRF token (a body is shared by every user): on
   submit, give the form the token base.html puts in <body hx-headers>. htmx requests send the
   same token as the X-CSRFToken header. */
document.addEventListener("submit", event => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
  if (form.querySelector('input[name="csrfmiddlewaretoken"]')) return;
  let token = "";
  try { token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return; }
  const input = document.createElement("input");
  input.type = "hidden";
  input.name = "csrfmiddlewaretoken";
  input.value = token;
  form.appendChild(input);
}, true);
