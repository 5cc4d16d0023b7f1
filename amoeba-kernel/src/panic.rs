//! Kernel panics: report message and location, then stop the node with a failure code.

use crate::arch::power;
use crate::console;
use libamoeba::boot::ExitCode;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let location = info
        .location()
        .map_or(("unknown", 0, 0), |l| (l.file(), l.line(), l.column()));
    console::emergency(format_args!(
        "\nkernel panic at {}:{}:{}: {}\nkernel: stopping the node\n",
        location.0,
        location.1,
        location.2,
        info.message()
    ));
    power::exit(ExitCode::Panic)
}

/// The precompiled `core` refers to this symbol; with `panic = "abort"` it is never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// The precompiled `alloc` (built to unwind) refers to this from its landing pads; with
/// `panic = "abort"` nothing ever unwinds, so reaching it is a kernel bug.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    panic!("_Unwind_Resume called, but the kernel never unwinds")
}
