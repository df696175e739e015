import { createRoot } from 'react-dom/client';
import { flushSync } from 'react-dom';
import { App, ErrorPage } from './App';
import { readParams, type TemplateParams } from './egress-signals';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);
let params: TemplateParams | undefined;
let problem = '';
try {
  params = readParams(window.location.search);
} catch (err) {
  problem = err instanceof Error ? err.message : String(err);
}
// Rendered synchronously, so a bad query string shows div.error before the page's load event, when the
// recorder looks for it.
flushSync(() => root.render(params ? <App params={params} /> : <ErrorPage message={problem} />));
