//! [`wire_enum!`]: a closed set of values with one wire name each (a DynamoDB status, a Stripe
//! metadata value, an error code), so the name is written once, next to its variant.

/// `wire_enum! { /// doc  pub enum Status { Held = "held", Sold = "sold" } }` gives the enum
/// (`Clone, Copy, Debug, PartialEq, Eq, Hash` plus any derives written above it), `ALL`,
/// `as_str()` and `parse()`.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$doc:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}
