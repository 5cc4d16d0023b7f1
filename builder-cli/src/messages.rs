//! How amoeba-build speaks to the person running it, besides its errors: progress lines on
//! stderr, and commands written out as shell-like lines.

/// One line of progress on stderr, `amoeba-build: ...`, like the command's own messages.
pub fn progress(message: &str) {
    eprintln!("amoeba-build: {message}");
}

/// A command as one shell-like line for messages (arguments with other characters quoted).
pub fn describe_command(cmd: &std::process::Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        let plain = !arg.is_empty()
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,.:/+".contains(&b));
        line.push(' ');
        if plain {
            line.push_str(&arg);
        } else {
            line.push_str(&format!("'{arg}'"));
        }
    }
    line
}
