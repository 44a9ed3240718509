import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { setLang, type Lang } from './lib/i18n';

const saved = localStorage.getItem('gridwalk.console.lang');
if (saved === 'en' || saved === 'zh') setLang(saved as Lang);

const target = document.getElementById('app');
if (!target) throw new Error('#app missing');
export default mount(App, { target });
