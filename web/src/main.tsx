import { render } from 'preact';
import { App } from './app';
import './styles.css';

render(<App />, document.getElementById('root')!);
// The first frame with the app in it: the browser test reads this as the time to first render.
requestAnimationFrame(() => performance.mark('app:first-render'));
