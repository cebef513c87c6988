// The admin token of the staff pages (the box office, the door): asked for
// once and kept for this browser tab only (sessionStorage), so a shared
// machine at the door does not keep it after the tab is closed.

import { h } from "./dom";

const TOKEN_KEY = "seatflow.admin-token";

// The token field, filled with the tab's token if it has one.
export function adminTokenInput(id: string): HTMLInputElement {
  const input = h("input", { type: "password", id, autocomplete: "off", "data-testid": id });
  input.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  return input;
}

// Kept once the server accepted it.
export function rememberAdminToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
