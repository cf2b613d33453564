//! Spin variables for the component: configuration and secrets.
//!
//! Resolved the way Spin's environment provider does it — `SPIN_VARIABLE_<NAME>` with the name
//! upper-cased — plus `--var name=value` on the command line, which wins. Values are read once
//! at start-up and never logged.

use std::collections::HashMap;

/// Why a variable could not be read (mirrors `fermyon:spin/variables.error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    #[error("invalid variable name {0:?}: use lowercase letters, digits and single underscores, starting with a letter")]
    InvalidName(String),
    #[error("variable {0:?} is not defined")]
    Undefined(String),
}

/// Failure to parse a `--var` flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarFlagError {
    #[error("--var expects name=value, got {0:?}")]
    MissingEquals(String),
    #[error(transparent)]
    Name(#[from] VariableError),
}

/// The variables every instance sees.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: HashMap<String, String>,
}

const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Spin's rule for variable names: `[a-z][a-z0-9_]*`, no `__`, no trailing `_`.
pub fn check_name(name: &str) -> Result<(), VariableError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if valid {
        Ok(())
    } else {
        Err(VariableError::InvalidName(name.to_owned()))
    }
}

impl Variables {
    /// Collects `SPIN_VARIABLE_*` from `env`, then applies `name=value` overrides.
    pub fn resolve<I, K, V>(env: I, overrides: &[String]) -> Result<Variables, VarFlagError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut values = HashMap::new();
        for (key, value) in env {
            if let Some(upper) = key.as_ref().strip_prefix(ENV_PREFIX) {
                let name = upper.to_ascii_lowercase();
                // Environment variables that do not name a valid Spin variable are simply not
                // variables, as in Spin.
                if check_name(&name).is_ok() {
                    values.insert(name, value.into());
                }
            }
        }
        for flag in overrides {
            let (name, value) = flag
                .split_once('=')
                .ok_or_else(|| VarFlagError::MissingEquals(flag.clone()))?;
            check_name(name)?;
            values.insert(name.to_owned(), value.to_owned());
        }
        Ok(Variables { values })
    }

    pub fn get(&self, name: &str) -> Result<String, VariableError> {
        check_name(name)?;
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| VariableError::Undefined(name.to_owned()))
    }

    /// Whether `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Sets a variable the host provides itself (see [`crate::system`]).
    pub fn provide(&mut self, name: &str, value: String) -> Result<(), VariableError> {
        check_name(name)?;
        self.values.insert(name.to_owned(), value);
        Ok(())
    }

    /// Unsets a variable the host decides about itself.
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// The names that are set (for the start-up log; values are secrets).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_with_the_spin_prefix_become_lowercase_variables() {
        let vars = Variables::resolve(
            [
                ("SPIN_VARIABLE_PLATFORM_TOKEN", "s3cret"),
                ("PATH", "/bin"),
                ("SPIN_VARIABLE_BAD__NAME", "x"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(vars.get("platform_token").unwrap(), "s3cret");
        assert_eq!(vars.names(), vec!["platform_token"]);
    }

    #[test]
    fn a_var_flag_overrides_the_environment() {
        let vars = Variables::resolve(
            [("SPIN_VARIABLE_SIGNUP_MODE", "token")],
            &["signup_mode=open".to_owned(), "empty=".to_owned()],
        )
        .unwrap();
        assert_eq!(vars.get("signup_mode").unwrap(), "open");
        assert_eq!(vars.get("empty").unwrap(), "");
    }

    #[test]
    fn unknown_and_invalid_names_are_distinguished() {
        let vars = Variables::default();
        assert_eq!(
            vars.get("missing"),
            Err(VariableError::Undefined("missing".into()))
        );
        for bad in ["", "Upper", "1st", "a-b", "a__b", "trailing_"] {
            assert!(
                matches!(vars.get(bad), Err(VariableError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_malformed_var_flag_is_refused() {
        let err = Variables::resolve(Vec::<(String, String)>::new(), &["novalue".to_owned()]);
        assert!(matches!(err, Err(VarFlagError::MissingEquals(_))));
        let err = Variables::resolve(Vec::<(String, String)>::new(), &["Bad=1".to_owned()]);
        assert!(matches!(err, Err(VarFlagError::Name(_))));
    }
}
