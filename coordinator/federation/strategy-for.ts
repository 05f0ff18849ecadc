import type { StrategyName } from './config.ts';
import { coordinateMedian, fedAvg, trimmedMean, withClipping, type Strategy } from './strategies.ts';

/** The strategy a round aggregates with, from its configured (or requested) name. */
export function strategyFor(name: StrategyName, o: { minResults: number; trimBeta: number; clipNorm: number | null }): Strategy {
  switch (name) {
    case 'fedavg':
      return fedAvg({ minResults: o.minResults });
    case 'median':
      return coordinateMedian({ minResults: o.minResults });
    case 'trimmed-mean':
      return trimmedMean({ beta: o.trimBeta, minResults: o.minResults });
    case 'clipped-fedavg':
      if (o.clipNorm === null) throw new Error('clipped-fedavg needs federation.clipNorm');
      return withClipping(fedAvg({ minResults: o.minResults }), { clipNorm: o.clipNorm });
  }
}
