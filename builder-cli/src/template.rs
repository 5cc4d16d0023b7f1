//! `{{name}}` placeholders in the files of `templates/`. Deliberately tiny: no logic, no
//! escapes; an unknown or unclosed placeholder is an error rather than text in a boot config.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("{template}: unknown placeholder {{{{{name}}}}} (known: {known})")]
    Unknown {
        template: String,
        name: String,
        known: String,
    },
    #[error("{template}: `{{{{` without a closing `}}}}`")]
    Unclosed { template: String },
    #[error(
        "{template}: the value of {{{{{name}}}}} spans lines; boot configs take it on one line"
    )]
    MultiLineValue { template: String, name: String },
}

/// Replaces each `{{name}}` in `text` (the file `template`, for messages) by its value.
pub fn render(
    template: &str,
    text: &str,
    values: &[(&str, &str)],
) -> Result<String, TemplateError> {
    if let Some((name, _)) = values.iter().find(|(_, value)| value.contains('\n')) {
        return Err(TemplateError::MultiLineValue {
            template: template.into(),
            name: (*name).into(),
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            template: template.into(),
        })?;
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value);
        let value = value.ok_or_else(|| TemplateError::Unknown {
            template: template.into(),
            name: name.into(),
            known: values
                .iter()
                .map(|(key, _)| *key)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced() {
        let out = render("t", "a {{x}} b {{ y }}{{x}}\n", &[("x", "1"), ("y", "two")]);
        assert_eq!(out.as_deref(), Ok("a 1 b two1\n"));
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        assert_eq!(
            render("t", "set timeout=0\n{ }\n", &[]).as_deref(),
            Ok("set timeout=0\n{ }\n")
        );
    }

    #[test]
    fn unknown_placeholders_are_errors() {
        let err = render("grub.cfg", "{{nmae}}", &[("name", "n")]).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "grub.cfg: unknown placeholder {{nmae}} (known: name)"
        );
    }

    #[test]
    fn unclosed_placeholders_are_errors() {
        assert!(matches!(
            render("t", "x {{name", &[("name", "n")]),
            Err(TemplateError::Unclosed { .. })
        ));
    }

    #[test]
    fn values_stay_on_one_line() {
        let err = render("t", "{{cmdline}}", &[("cmdline", "a\nboot")]);
        assert!(matches!(err, Err(TemplateError::MultiLineValue { .. })));
    }

    #[test]
    fn the_shipped_grub_templates_render() {
        let values = [
            ("node", "pool"),
            ("profile", "pool"),
            ("cmdline", "node=pool log=info"),
        ];
        for (name, text) in [
            ("grub-iso.cfg", include_str!("../../templates/grub-iso.cfg")),
            ("grub-pxe.cfg", include_str!("../../templates/grub-pxe.cfg")),
            (
                "grub-disk.cfg",
                include_str!("../../templates/grub-disk.cfg"),
            ),
        ] {
            let out = render(name, text, &values).expect("template renders");
            assert!(
                out.contains("serial --unit=0 --speed=115200"),
                "{name}: {out}"
            );
            assert!(
                out.contains("terminal_input serial") && out.contains("terminal_output serial")
            );
            assert!(out.contains("set timeout=0"));
            assert!(
                out.contains("/boot/kernel.elf node=pool log=info\n"),
                "{name}: {out}"
            );
            assert!(out.contains("\n    boot\n"), "{name}: {out}");
        }
        let pxe = render("pxe", include_str!("../../templates/grub-pxe.cfg"), &values)
            .unwrap_or_default();
        assert!(
            pxe.contains("multiboot2 (tftp)/boot/kernel.elf node=pool"),
            "{pxe}"
        );
        let iso = render("iso", include_str!("../../templates/grub-iso.cfg"), &values)
            .unwrap_or_default();
        assert!(
            iso.contains("multiboot2 /boot/kernel.elf node=pool"),
            "{iso}"
        );
    }
}
