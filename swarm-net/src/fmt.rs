//! Logging shim: `trace!` .. `warn!` go to `log`, `defmt` or nowhere (embassy's pattern).
#![allow(unused_macros)]

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("features `log` and `defmt` are mutually exclusive");

macro_rules! net_log {
    ($level:ident, $s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "log")]
        ::log::$level!($s $(, $x)*);
        #[cfg(feature = "defmt")]
        ::defmt::$level!($s $(, $x)*);
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = ($(&$x),*);
    }};
}

macro_rules! trace {
    ($($t:tt)*) => { net_log!(trace, $($t)*) };
}
macro_rules! debug {
    ($($t:tt)*) => { net_log!(debug, $($t)*) };
}
macro_rules! warn {
    ($($t:tt)*) => { net_log!(warn, $($t)*) };
}
