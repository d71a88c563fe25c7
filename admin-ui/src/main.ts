/**
 * Rotor's admin console: login, then status, actions, channels and watch, routed by the URL hash.
 * Talks to the admin endpoints only (api.ts), builds every element with dom.ts (text is never
 * parsed as HTML), and follows the system's light or dark theme unless one is picked.
 */
import { Unauthorized, init, login, logout } from './api.js';
import { append, clear, el } from './dom.js';
import { actionsPage, channelsPage, statusPage, type Page } from './pages.js';
import { watchPage } from './watch.js';

const THEME_KEY = 'rotor-admin-theme';
const app = document.getElementById('app')!;
let current: Page | undefined;

function applyTheme(theme: string | null): void {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset['theme'] = theme;
  else delete document.documentElement.dataset['theme'];
}

function toggleTheme(): void {
  const dark = document.documentElement.dataset['theme'] === 'dark' || (document.documentElement.dataset['theme'] === undefined && matchMedia('(prefers-color-scheme: dark)').matches);
  const next = dark ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
}

function onError(e: unknown): void {
  if (e instanceof Unauthorized) {
    logout();
    location.hash = '#/login';
    return;
  }
  console.error(e);
}

function loginView(insecure: boolean): HTMLElement {
  const password = el('input', { type: 'password', id: 'password', autocomplete: 'current-password', 'aria-label': 'password', required: '' });
  const problem = el('p', { class: 'problem', role: 'alert', id: 'login-problem' });
  const form = el('form', { class: 'login' }, el('h1', {}, 'Rotor'), el('label', {}, 'Admin password', password), problem, el('button', { type: 'submit', id: 'login' }, 'Log in'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    login(password.value).then((why) => {
      if (why !== undefined) {
        problem.textContent = why;
        password.select();
        return;
      }
      location.hash = '#/';
    }, onError);
  });
  if (insecure) location.hash = '#/';
  return form;
}

function shell(active: string, page: Page): HTMLElement {
  const link = (hash: string, label: string) => el('a', { href: hash, ...(hash === active ? { 'aria-current': 'page' } : {}) }, label);
  const theme = el('button', { type: 'button', class: 'ghost', id: 'theme', title: 'light or dark' }, 'Theme');
  theme.addEventListener('click', toggleTheme);
  const out = el('button', { type: 'button', class: 'ghost', id: 'logout' }, 'Log out');
  out.addEventListener('click', () => {
    logout();
    location.hash = '#/login';
  });
  return el('div', { class: 'shell' }, el('header', {}, el('strong', { class: 'brand' }, 'Rotor'), el('nav', {}, link('#/', 'Status'), link('#/actions', 'Actions'), link('#/channels', 'Channels'), link('#/watch', 'Watch')), theme, out), el('main', {}, page.root));
}

async function route(): Promise<void> {
  current?.stop();
  current = undefined;
  const info = await init();
  const hash = location.hash || '#/';
  clear(app);
  if (!info.authenticated) {
    append(app, loginView(info.insecure));
    return;
  }
  if (hash === '#/login') {
    location.hash = '#/';
    return;
  }
  const pages: Record<string, (onError: (e: unknown) => void) => Page> = { '#/actions': actionsPage, '#/channels': channelsPage, '#/watch': watchPage };
  const make = pages[hash];
  const page = make !== undefined ? make(onError) : statusPage(onError);
  current = page;
  append(app, shell(make !== undefined ? hash : '#/', page));
}

applyTheme(localStorage.getItem(THEME_KEY));
window.addEventListener('hashchange', () => void route().catch(onError));
void route().catch(onError);
