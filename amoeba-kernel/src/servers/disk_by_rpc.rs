//! A disk piece as a [`BlockDevice`], reached through the vdisk server by RPC: how the file
//! servers in the kernel reach their storage (the VX-Kernel's layering: the virtual disk server
//! is "a unique access to storage devices, used by higher level filesystem servers").

use crate::ipc::KernelRpc;
use libamoeba::capability::Capability;
use libamoeba::client::{ds_flush, ds_read, ds_size, ds_write};
use libamoeba::servers::vdisk::{BLOCK_BYTES, BlockDevice, DeviceError, Durability};

/// log2 of the vdisk block asked for.
const BLOCK_SHIFT: u32 = 9;

/// The disk the vdisk capability `disk` names.
pub struct DiskByRpc {
    disk: Capability,
    blocks: u64,
}

impl DiskByRpc {
    /// The disk `disk` names; `None` if its server does not say its size.
    pub fn open(disk: Capability) -> Option<Self> {
        let blocks = ds_size(&KernelRpc, &disk, BLOCK_SHIFT).ok()?;
        Some(Self {
            disk,
            blocks: u64::from(blocks),
        })
    }

    /// Whether the disk's first block is all zeros: a disk never written.
    pub fn is_blank(&mut self) -> bool {
        let mut first = [0u8; BLOCK_BYTES];
        self.read(0, &mut first).is_ok() && first.iter().all(|&b| b == 0)
    }
}

fn block(first: u64) -> Result<u32, DeviceError> {
    u32::try_from(first).map_err(|_| DeviceError::OutOfRange)
}

impl BlockDevice for DiskByRpc {
    fn blocks(&self) -> u64 {
        self.blocks
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        let count =
            u32::try_from(buffer.len() / BLOCK_BYTES).map_err(|_| DeviceError::OutOfRange)?;
        ds_read(
            &KernelRpc,
            &self.disk,
            block(first)?,
            BLOCK_SHIFT,
            count,
            buffer,
        )
        .map_err(|_| DeviceError::Failed)
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        let durability = Durability::Accepted;
        ds_write(
            &KernelRpc,
            &self.disk,
            block(first)?,
            BLOCK_SHIFT,
            data,
            durability,
        )
        .map_err(|_| DeviceError::Failed)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        ds_flush(&KernelRpc, &self.disk).map_err(|_| DeviceError::Failed)
    }
}
