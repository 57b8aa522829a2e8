/**
 * tsyringe, always after its reflect polyfill. ES modules evaluate imports in order, so every module that
 * needs the container imports it from here rather than from 'tsyringe' directly.
 */
import 'reflect-metadata';

export { container, inject, injectable, type DependencyContainer } from 'tsyringe';
