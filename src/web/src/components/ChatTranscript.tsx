/** @module The playground conversation: each turn, and under each reply its TTFT, speed, tokens and cost. */
import { useEffect, useRef } from 'react';
import { Content, Flex, Label } from '@patternfly/react-core';
import { formatDecimal, formatNumber } from '../format';
import { useMoney } from '../hooks/useMoney';
import { useTranslation } from 'react-i18next';

export interface ReplyStats {
  ttftMs?: number;
  tokensPerSecond?: number;
  promptTokens?: number;
  completionTokens?: number;
  cost?: number;
}

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  stats?: ReplyStats;
  /** Set while the reply is still streaming. */
  isStreaming?: boolean;
  stopped?: boolean;
}

function Stats({ stats }: { stats: ReplyStats }) {
  const { t } = useTranslation();
  const money = useMoney();
  return (
    <Flex gap={{ default: 'gapMd' }} className="lm-muted" style={{ marginTop: 4 }}>
      <span>
        {t('chat.ttft')} <span data-testid="playground-ttft">{stats.ttftMs === undefined ? '—' : t('chat.ms', { ms: Math.round(stats.ttftMs) })}</span>
      </span>
      <span>
        <span data-testid="playground-tps">{stats.tokensPerSecond === undefined ? '—' : formatDecimal(stats.tokensPerSecond)}</span> {t('chat.tokensPerSecond')}
      </span>
      {stats.promptTokens !== undefined && (
        <span>
          {t('chat.tokens', { prompt: formatNumber(stats.promptTokens), completion: formatNumber(stats.completionTokens) })}
        </span>
      )}
      <span>
        {t('chat.cost')} <span data-testid="playground-cost">{stats.cost === undefined ? '—' : money(stats.cost)}</span>
      </span>
    </Flex>
  );
}

export function ChatTranscript({ turns }: { turns: Turn[] }) {
  const { t } = useTranslation();
  const log = useRef<HTMLDivElement>(null);
  // Follow the reply as it streams in.
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [turns]);
  return (
    <div ref={log} className="lm-chat" aria-live="polite" aria-label={t('chat.conversation')} role="log">
      {turns.map((turn, index) => (
        <div key={index}>
          <Label isCompact color={turn.role === 'user' ? 'blue' : 'purple'}>
            {turn.role === 'user' ? t('chat.you') : t('chat.model')}
          </Label>
          <Content component="p" className="lm-chat-message" data-testid={turn.role === 'assistant' ? 'assistant-message' : 'user-message'}>
            {turn.content}
            {turn.isStreaming && '▍'}
          </Content>
          {turn.stopped && <span className="lm-muted">{t('chat.stopped')}</span>}
          {turn.stats && <Stats stats={turn.stats} />}
        </div>
      ))}
    </div>
  );
}
