//! Device drivers. The console UART and QEMU's fw_cfg are always present; every other driver is
//! compiled in only when the node's profile selects it (Cargo feature `driver-NAME`).

pub mod fw_cfg;
pub mod serial;

#[cfg(feature = "driver-ne2000")]
pub mod ne2000;
#[cfg(feature = "driver-pci")]
pub mod pci;
#[cfg(feature = "driver-rtc")]
pub mod rtc;
#[cfg(feature = "driver-virtio-blk")]
pub mod virtio_blk;
#[cfg(any(feature = "driver-virtio-net", feature = "driver-virtio-blk"))]
mod virtio_hal;
#[cfg(feature = "driver-virtio-net")]
pub mod virtio_net;
#[cfg(any(feature = "driver-virtio-net", feature = "driver-virtio-blk"))]
mod virtio_pci;

/// Starts every driver compiled into this image.
pub fn init_selected() {
    #[cfg(feature = "driver-pci")]
    pci::init();
    #[cfg(feature = "driver-rtc")]
    rtc::init();
}

/// Starts a link thread for every network card found by a driver compiled into this image.
/// `net` goes to every card (a node has one card in the setups used so far).
pub fn start_network(node: &str, net: crate::node_config::NetSettings) {
    #[cfg(feature = "driver-ne2000")]
    if let Some(card) = ne2000::probe() {
        crate::net::link::start(alloc::boxed::Box::new(card), node, net);
    }
    #[cfg(feature = "driver-virtio-net")]
    if let Some(card) = virtio_net::probe() {
        crate::net::link::start(alloc::boxed::Box::new(card), node, net);
    }
    let _ = (node, net);
}
