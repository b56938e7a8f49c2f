//! "Prevalence": devices, first and last seen in the period, the daily chart; and the period picker it shares
//! with the observed devices.

use std::rc::Rc;

use chrono::Utc;
use ipscope_api::period::{PeriodChoice, Preset};
use ipscope_api::time::utc_minute;
use ipscope_api::wire::Prevalence;
use leptos::prelude::*;

use crate::components::prevalence_chart::PrevalenceChart;
use crate::components::time::Time;
use crate::url_state::use_query_updater;

/// Prevalence figures and the chart.
#[component]
pub fn PrevalencePanel(
    /// The API's answer.
    prevalence: Rc<Prevalence>,
    /// Words for the period.
    period: String,
) -> impl IntoView {
    let p = prevalence;
    view! {
        <dl class="facts stats">
            <dt>"Devices"</dt>
            <dd data-field="Devices">{p.organization_prevalence.to_string()}</dd>
            <dt>"Connections"</dt>
            <dd data-field="Connections">{p.connections.to_string()}</dd>
            <dt>"First seen"</dt>
            <dd data-field="First seen">
                <Time at=p.org_first_seen />
            </dd>
            <dt>"Last seen"</dt>
            <dd data-field="Last seen">
                <Time at=p.org_last_seen />
            </dd>
        </dl>
        <p class="note">{format!("In {period}.")}</p>
        <PrevalenceChart days=p.days.clone() />
    }
}

/// The period presets and a custom UTC range; changing it rewrites the URL, which reloads both sections.
#[component]
pub fn PeriodPicker(
    /// The period in effect.
    current: Signal<PeriodChoice>,
) -> impl IntoView {
    let update = use_query_updater();
    let custom_open = RwSignal::new(matches!(current.get_untracked(), PeriodChoice::Custom(_)));
    let error = RwSignal::new(None::<String>);
    let (from_text, to_text) = match current.get_untracked() {
        PeriodChoice::Custom(r) => (utc_minute(r.from, 'T'), utc_minute(r.to, 'T')),
        PeriodChoice::Preset(p) => {
            let now = Utc::now();
            (utc_minute(now - chrono::Duration::hours(p.hours()), 'T'), utc_minute(now, 'T'))
        }
    };
    // The inputs are `datetime-local` values (`YYYY-MM-DDTHH:MM`), read as UTC.
    let (from_input, to_input) = (RwSignal::new(from_text), RwSignal::new(to_text));
    // The URL holds the choice as `PeriodChoice::url_params` writes it; the other period parameters are removed.
    let set_period = move |choice: PeriodChoice| {
        let mut changes: Vec<(&str, Option<String>)> = ["period", "from", "to"].map(|k| (k, None)).to_vec();
        for (key, value) in choice.url_params() {
            changes.retain(|(k, _)| *k != key);
            changes.push((key, Some(value)));
        }
        update(&changes);
    };
    let choose = {
        let set_period = set_period.clone();
        move |preset: Preset| {
            custom_open.set(false);
            error.set(None);
            set_period(PeriodChoice::Preset(preset));
        }
    };
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (f, t) = (format!("{}:00Z", from_input.get_untracked()), format!("{}:00Z", to_input.get_untracked()));
        match PeriodChoice::from_url(None, Some(&f), Some(&t)) {
            Ok(choice) => {
                error.set(None);
                set_period(choice);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <div class="period" role="group" aria-label="Period for observed devices and prevalence">
            <span class="period-label">"Period"</span>
            {Preset::ALL
                .into_iter()
                .map(|preset| {
                    let choose = choose.clone();
                    let pressed = move || (current.get() == PeriodChoice::Preset(preset)).to_string();
                    view! {
                        <button type="button" class="preset" aria-pressed=pressed on:click=move |_| choose(preset)>
                            {preset.label()}
                        </button>
                    }
                })
                .collect_view()}
            <button
                type="button"
                class="preset"
                aria-pressed=move || matches!(current.get(), PeriodChoice::Custom(_)).to_string()
                aria-expanded=move || custom_open.get().to_string()
                on:click=move |_| custom_open.update(|o| *o = !*o)
            >
                "Custom"
            </button>
        </div>
        {move || custom_open.get().then(|| {
            let apply = apply.clone();
            view! {
            <form class="custom-period" on:submit=apply>
                <label>
                    "From (UTC) "
                    <input id="period-from" type="datetime-local" prop:value=move || from_input.get() on:input=move |ev| from_input.set(event_target_value(&ev)) />
                </label>
                <label>
                    "To (UTC) "
                    <input id="period-to" type="datetime-local" prop:value=move || to_input.get() on:input=move |ev| to_input.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Apply"</button>
                <p class="input-error" role="alert">{move || error.get()}</p>
            </form>
            }
        })}
    }
}
