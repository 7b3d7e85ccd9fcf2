/**
 * @module Choose several values from a list: a toggle that opens the options (each click adds or
 * removes one) and the chosen values as removable labels underneath. Label it with a FormGroup
 * whose fieldId is `id`, or with `aria-label`.
 */
import { useState } from 'react';
import { Label, LabelGroup, MenuToggle, Select, SelectList, SelectOption } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';

export interface MultiSelectOption {
  value: string;
  label?: string;
  description?: string;
}

export function MultiSelect({
  id,
  options,
  selected,
  onChange,
  placeholder,
  'aria-label': ariaLabel,
  isDisabled,
  validated,
}: {
  id: string;
  options: MultiSelectOption[];
  selected: string[];
  onChange: (values: string[]) => void;
  placeholder: string;
  'aria-label'?: string;
  isDisabled?: boolean;
  validated?: 'error';
}) {
  const { t } = useTranslation();
  const [isOpen, setOpen] = useState(false);
  const labelOf = (value: string) => options.find((option) => option.value === value)?.label ?? value;
  const toggleValue = (value: string) =>
    onChange(selected.includes(value) ? selected.filter((v) => v !== value) : [...selected, value]);

  return (
    <>
      <Select
        isOpen={isOpen}
        onOpenChange={setOpen}
        selected={selected}
        onSelect={(_event, value) => toggleValue(String(value))}
        popperProps={{ appendTo: 'inline' }}
        isScrollable
        toggle={(ref) => (
          <MenuToggle
            ref={ref}
            id={id}
            aria-label={ariaLabel}
            isFullWidth
            isDisabled={isDisabled}
            isExpanded={isOpen}
            status={validated === 'error' ? 'danger' : undefined}
            onClick={() => setOpen(!isOpen)}
          >
            {selected.length === 0 ? placeholder : selected.length === 1 ? labelOf(selected[0]) : t('multiSelect.count', { count: selected.length })}
          </MenuToggle>
        )}
      >
        <SelectList isAriaMultiselectable>
          {options.length === 0 && <SelectOption isDisabled>{t('multiSelect.nothing')}</SelectOption>}
          {options.map((option) => (
            <SelectOption key={option.value} value={option.value} isSelected={selected.includes(option.value)} description={option.description}>
              {option.label ?? option.value}
            </SelectOption>
          ))}
        </SelectList>
      </Select>
      {selected.length > 0 && (
        <LabelGroup numLabels={6} style={{ marginTop: 8 }}>
          {selected.map((value) => (
            <Label key={value} isCompact onClose={isDisabled ? undefined : () => toggleValue(value)} closeBtnAriaLabel={t('multiSelect.remove', { label: labelOf(value) })}>
              {labelOf(value)}
            </Label>
          ))}
        </LabelGroup>
      )}
    </>
  );
}
