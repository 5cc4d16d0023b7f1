//! The network cards a node can be given: the QEMU device of each and the profile driver that
//! runs it. Validation (a `[network]` table needs a card driver) and the QEMU runner (which card
//! to plug in) both name cards this way.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nic {
    /// `virtio-net-pci`.
    Virtio,
    /// `ne2k_pci`, NE2000-compatible.
    Ne2000,
}

impl Nic {
    /// Every card, in the order messages list them.
    pub const ALL: [Nic; 2] = [Nic::Virtio, Nic::Ne2000];

    pub const fn device(self) -> &'static str {
        match self {
            Self::Virtio => "virtio-net-pci",
            Self::Ne2000 => "ne2k_pci",
        }
    }

    /// The profile driver that runs this card (and the name the kernel logs it by).
    pub const fn driver(self) -> &'static str {
        match self {
            Self::Virtio => "virtio-net",
            Self::Ne2000 => "ne2000",
        }
    }
}
