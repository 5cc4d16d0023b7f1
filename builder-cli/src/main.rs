//! `amoeba-build`: build node images from profiles, check profiles, list them, boot them, boot
//! clusters of them on one virtual LAN; build the user programs' process images.

use std::io::IsTerminal;
use std::process::ExitCode;

use amoeba_build::disk_image::fsck;
use amoeba_build::image::BuiltImage;
use amoeba_build::problem::ProfileProblems;
use amoeba_build::profile::profile_names;
use amoeba_build::qemu::{self, Outcome};
use amoeba_build::{
    Accel, Boot, BuildOptions, Firmware, Nic, Profile, QemuSpec, Serial, Workspace, build_profile,
    check_profile, kvm, progress, validate_append,
};
use amoeba_build::{cluster, disk};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turns a node profile (node-profiles/NAME.toml) into a bootable Amoeba node image in
/// images/NAME/: kernel.elf, NAME.iso, pxe/, NAME.img (BIOS and UEFI disk image), NAME.qcow2,
/// oci/ (a KubeVirt containerDisk) and manifest.json.
#[derive(Parser)]
#[command(name = "amoeba-build", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    build: TopLevelBuild,
    #[command(subcommand)]
    command: Option<Command>,
}

/// `amoeba-build --profile NAME` is short for `amoeba-build build --profile NAME`.
#[derive(Args)]
struct TopLevelBuild {
    /// Profile to build: a name in node-profiles/ or a path to a .toml file
    #[arg(long, value_name = "NAME|PATH")]
    profile: Option<String>,
    #[command(flatten)]
    outputs: OutputArgs,
}

#[derive(Args, Clone, Copy)]
struct OutputArgs {
    /// Do not make the ISO
    #[arg(long)]
    no_iso: bool,
    /// Do not make the PXE tree
    #[arg(long)]
    no_pxe: bool,
    /// Do not make the appliance disk image NAME.img (nor the qcow2 and OCI layout made from it)
    #[arg(long)]
    no_disk_image: bool,
    /// Do not make NAME.qcow2 (nor the OCI layout that carries it)
    #[arg(long)]
    no_qcow2: bool,
    /// Do not make the OCI image layout oci/
    #[arg(long)]
    no_oci: bool,
}

impl OutputArgs {
    fn options(self) -> BuildOptions {
        BuildOptions {
            iso: !self.no_iso,
            pxe: !self.no_pxe,
            disk_image: !self.no_disk_image,
            qcow2: !self.no_qcow2,
            oci: !self.no_oci,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Build a profile into images/NAME/
    Build {
        /// Profile to build: a name in node-profiles/ or a path to a .toml file
        #[arg(long, value_name = "NAME|PATH")]
        profile: String,
        #[command(flatten)]
        outputs: OutputArgs,
    },
    /// List the profiles in node-profiles/ with their descriptions
    List,
    /// Check a profile without building anything
    Check {
        /// Profile to check: a name in node-profiles/ or a path to a .toml file
        #[arg(long, value_name = "NAME|PATH")]
        profile: String,
    },
    /// Build a profile if needed, then boot it in QEMU with the console on this terminal
    /// (Ctrl-C stops the VM)
    Run(RunArgs),
    /// Boot several nodes on one virtual LAN; Ctrl-C stops them all
    Cluster(ClusterArgs),
    /// Build every program of programs/ into images/programs/NAME.process (process images)
    /// and images/programs/index.json
    Programs,
    /// Turn a freestanding x86-64 ELF (a static executable linked for Amoeba user space, e.g.
    /// with amoeba-user/user.ld) into a process image file for `amoeba exec` or [[programs]]
    Image {
        /// The ELF file
        #[arg(value_name = "ELF")]
        elf: std::path::PathBuf,
        /// The process image to write
        #[arg(short, long, value_name = "FILE")]
        output: std::path::PathBuf,
    },
    /// Write a Cargo project of an Amoeba program (package, src/main.rs, a node profile
    /// NAME.toml that starts it at boot, a README of three lines) into ./NAME or --dir
    NewProgram {
        /// The program's name: its package, binary, process and node
        #[arg(value_name = "NAME")]
        name: String,
        /// Where to write the project (must not exist or be empty)
        #[arg(long, value_name = "PATH")]
        dir: Option<std::path::PathBuf>,
    },
    /// Check a disk image offline: its label, and its Bullet volume's records and files.
    /// Exits 0 when clean, 1 with problems, 2 for a file that is no disk image
    Fsck {
        /// The disk image: images/NAME/disk.img as built, or a node's copy
        /// (images/NAME/run.disk.img, images/cluster/NODE.disk.img)
        #[arg(value_name = "IMAGE")]
        image: std::path::PathBuf,
    },
}

#[derive(Args)]
struct ClusterArgs {
    /// Nodes' profile: a name or path, with `:COUNT` for several (repeat for a mixed cluster,
    /// e.g. --profile fileserver --profile pool:2)
    #[arg(long = "profile", value_name = "NAME[:COUNT]", required = true)]
    profiles: Vec<String>,
    /// How many nodes of the (single) profile
    #[arg(long, value_name = "N")]
    nodes: Option<usize>,
    /// Every node's network card
    #[arg(long, value_enum, default_value_t = NicArg::Virtio)]
    nic: NicArg,
    /// UDP port of the LAN (multicast group 230.0.0.1 on loopback); host peers join it too
    #[arg(long, value_name = "PORT", default_value_t = 47474)]
    lan_port: u16,
    /// Accelerator: auto picks KVM only where it really works, else TCG
    #[arg(long, value_enum, default_value_t = AccelArg::Auto)]
    accel: AccelArg,
    /// Extra kernel command-line words for every node
    #[arg(long, value_name = "WORDS", allow_hyphen_values = true)]
    append: Option<String>,
    /// Give every node with a disk a new copy of its built disk image
    /// (images/cluster/NODE.disk.img) instead of keeping what earlier boots wrote
    #[arg(long)]
    fresh_disk: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Profile to run: a name in node-profiles/ or a path to a .toml file
    #[arg(long, value_name = "NAME|PATH")]
    profile: String,
    /// How to boot: QEMU loads the kernel itself, GRUB from the ISO, GRUB over PXE, or GRUB
    /// from the disk image NAME.img or NAME.qcow2 (a copy: images/NAME/run.img, run.qcow2)
    #[arg(long, value_enum, default_value_t = BootArg::Kernel)]
    boot: BootArg,
    /// Firmware: SeaBIOS, or OVMF (UEFI; for disk, qcow2 and iso boots)
    #[arg(long, value_enum, default_value_t = FirmwareArg::Bios)]
    firmware: FirmwareArg,
    /// Network card (none by default; PXE boots use virtio unless told ne2000)
    #[arg(long, value_enum)]
    nic: Option<NicArg>,
    /// Accelerator: auto picks KVM only where it really works, else TCG
    #[arg(long, value_enum, default_value_t = AccelArg::Auto)]
    accel: AccelArg,
    /// Extra kernel command-line words, e.g. "ready=exit"
    #[arg(long, value_name = "WORDS", allow_hyphen_values = true)]
    append: Option<String>,
    /// Give the node a new copy of its built disk image (images/NAME/run.disk.img, from
    /// images/NAME/disk.img; for disk and qcow2 boots run.img and run.qcow2) instead of
    /// keeping what earlier boots wrote
    #[arg(long)]
    fresh_disk: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BootArg {
    Kernel,
    Iso,
    Pxe,
    Disk,
    Qcow2,
}

#[derive(Clone, Copy, ValueEnum)]
enum FirmwareArg {
    Bios,
    Uefi,
}

#[derive(Clone, Copy, ValueEnum)]
enum NicArg {
    Virtio,
    Ne2000,
}

#[derive(Clone, Copy, ValueEnum)]
enum AccelArg {
    Auto,
    Tcg,
    Kvm,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match (cli.command, cli.build.profile) {
        (Some(Command::Build { profile, outputs }), _) => build(&profile, outputs.options()),
        (None, Some(profile)) => build(&profile, cli.build.outputs.options()),
        (Some(Command::List), _) => list(),
        (Some(Command::Check { profile }), _) => check(&profile),
        (Some(Command::Run(args)), _) => boot(&args),
        (Some(Command::Cluster(args)), _) => cluster(&args),
        (Some(Command::Programs), _) => programs(),
        (Some(Command::Fsck { image }), _) => Ok(fsck(&image)),
        (Some(Command::Image { elf, output }), _) => image(&elf, &output),
        (Some(Command::NewProgram { name, dir }), _) => new_program(&name, dir.as_deref()),
        (None, None) => {
            let mut help = <Cli as clap::CommandFactory>::command();
            eprintln!("{}", help.render_help());
            Ok(ExitCode::from(2))
        }
    }
}

fn workspace() -> Result<Workspace> {
    Ok(Workspace::locate()?)
}

fn build(profile: &str, options: BuildOptions) -> Result<ExitCode> {
    let ws = workspace()?;
    build_profile(&ws, profile, &options).with_context(|| format!("building profile {profile}"))?;
    Ok(ExitCode::SUCCESS)
}

fn list() -> Result<ExitCode> {
    let ws = workspace()?;
    let names = profile_names(&ws.profiles_dir());
    if names.is_empty() {
        bail!("no profiles in {}/", ws.display(&ws.profiles_dir()));
    }
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for name in names {
        let description = match amoeba_build::load_profile(&ws, &name) {
            Ok(Profile { description, .. }) => description.value,
            Err(e) => format!("(unreadable: {})", first_line(&e.to_string())),
        };
        println!("{name:width$}  {description}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per program on stdout: its name and its image's size in bytes.
fn programs() -> Result<ExitCode> {
    let ws = workspace()?;
    let written =
        amoeba_build::programs::write_program_images(&ws).context("writing the program images")?;
    if written.is_empty() {
        bail!(
            "no programs in {}",
            ws.display(&ws.programs_dir().join("Cargo.toml"))
        );
    }
    let width = written.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for program in &written {
        println!("{:width$}  {}", program.name, program.bytes);
    }
    Ok(ExitCode::SUCCESS)
}

fn check(profile: &str) -> Result<ExitCode> {
    let ws = workspace()?;
    let (profile, spec) = check_profile(&ws, profile)?;
    let none = |list: &[String]| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let programs: Vec<String> = spec
        .programs
        .iter()
        .map(|p| {
            let mut words = vec![p.name.clone()];
            words.extend(p.args.iter().cloned());
            format!("{} ({})", words.join(" "), p.priority.name())
        })
        .collect();
    // Said only for a node with a disk, so other nodes' lines stay as they were.
    let contents = &spec.disk_contents;
    let disk_contents = match (contents.files.len(), contents.dirs.len()) {
        (0, 0) => String::new(),
        (files, dirs) => format!(" (files: {files}, directories named: {dirs})"),
    };
    let disk = spec
        .disk_mib
        .map(|mib| format!(", disk: {mib} MiB{disk_contents}"))
        .unwrap_or_default();
    println!(
        "ok: {}: node {}, servers: {}, drivers: {}, features: {}, programs: {}{disk}, cmdline: {}",
        profile.file,
        spec.node,
        none(&spec.servers),
        none(&spec.drivers),
        none(&amoeba_build::features::features(&spec)),
        none(&programs),
        spec.cmdline()
    );
    Ok(ExitCode::SUCCESS)
}

fn boot(args: &RunArgs) -> Result<ExitCode> {
    let ws = workspace()?;
    let boot = match args.boot {
        BootArg::Kernel => Boot::Kernel,
        BootArg::Iso => Boot::Iso,
        BootArg::Pxe => Boot::Pxe,
        BootArg::Disk => Boot::Disk,
        BootArg::Qcow2 => Boot::Qcow2,
    };
    let firmware = match args.firmware {
        FirmwareArg::Bios => Firmware::Bios,
        FirmwareArg::Uefi => Firmware::Uefi,
    };
    // Refused before anything is built.
    qemu::firmware::check(boot, firmware)?;
    let append = append_words(&args.append);
    refuse_unusable_words(&ws, &args.profile, &append)?;
    let image = build_profile(&ws, &args.profile, &BuildOptions::default())
        .with_context(|| format!("building profile {}", args.profile))?;
    let spec = QemuSpec {
        boot,
        firmware,
        nic: args.nic.map(NicArg::nic),
        accel: accel(args.accel, &image.kernel_elf),
        append,
        serial: Serial::Stdio,
        interactive: std::io::stdin().is_terminal(),
        ..QemuSpec::for_image(&image)
    };
    let boot_file = qemu::boot_file(&spec);
    if !boot_file.exists() {
        bail!(
            "{} is missing: this machine cannot make it (see the warnings above)",
            ws.display(&boot_file)
        );
    }
    refuse_unbootable_firmware(&ws, &image, boot, firmware)?;
    let disk = node_disk(&ws, &image, &spec, &boot_file, args)?;
    run_qemu(&ws, &QemuSpec { disk, ..spec })
}

/// The disk the node boots with: for a disk or qcow2 boot a copy of that image (which is
/// then also its disk), otherwise a copy of its built `disk.img` if it has one.
fn node_disk(
    ws: &Workspace,
    image: &BuiltImage,
    spec: &QemuSpec,
    boot_file: &std::path::Path,
    args: &RunArgs,
) -> Result<Option<std::path::PathBuf>> {
    if spec.boot.from_disk() {
        let copy = disk::run_boot_disk(&image.dir, spec.boot == Boot::Qcow2);
        return Ok(Some(prepare_disk(ws, &copy, boot_file, args.fresh_disk)?));
    }
    match &image.disk {
        Some(built) => Ok(Some(prepare_disk(
            ws,
            &disk::run_disk(&image.dir),
            built,
            args.fresh_disk,
        )?)),
        None => {
            if args.fresh_disk {
                progress(&format!(
                    "warning: --fresh-disk: profile {} has no disk (no \"virtio-blk\" driver)",
                    args.profile
                ));
            }
            Ok(None)
        }
    }
}

/// An ISO or disk image made without GRUB's UEFI files boots on BIOS only: said before QEMU
/// starts, rather than OVMF finding nothing to boot.
fn refuse_unbootable_firmware(
    ws: &Workspace,
    image: &BuiltImage,
    boot: Boot,
    firmware: Firmware,
) -> Result<()> {
    use amoeba_build::manifest::{ApplianceOutput, IsoOutput};
    let outputs = &image.manifest.outputs;
    let made_for = match (boot, &outputs.iso, &outputs.appliance) {
        (Boot::Iso, IsoOutput::Built { firmware, .. }, _) => firmware,
        (Boot::Disk | Boot::Qcow2, _, ApplianceOutput::Built { firmware, .. }) => firmware,
        _ => return Ok(()),
    };
    if !made_for.iter().any(|f| f == firmware.name()) {
        bail!(
            "{} boots on {} only (see the warnings above: GRUB's files for {} were missing)",
            ws.display(&qemu::boot_file(
                &QemuSpec::for_image(image).with_boot(boot)
            )),
            made_for.join(" and "),
            firmware.name()
        );
    }
    Ok(())
}

/// Makes (a copy of the built disk image `built`) or keeps the disk at `path`, saying which;
/// its path for the QEMU spec.
fn prepare_disk(
    ws: &Workspace,
    path: &std::path::Path,
    built: &std::path::Path,
    fresh: bool,
) -> Result<std::path::PathBuf> {
    let disk = disk::prepare_from(ws, path, built, fresh)?;
    progress(&disk.describe(ws));
    for warning in [disk.size_warning(), disk.older_image_warning()]
        .into_iter()
        .flatten()
    {
        progress(&warning);
    }
    Ok(disk.path)
}

/// `fsck IMAGE`: the report on stdout; exit 0 clean, 1 problems, 2 not a disk image.
/// `amoeba-build new-program NAME [--dir PATH]`.
fn new_program(name: &str, dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let ws = Workspace::locate()?;
    let dir = amoeba_build::new_program::new_program(&ws, name, dir)?;
    let shown = dir.display();
    println!("wrote {shown}/: Cargo.toml, src/main.rs, {name}.toml, README.md");
    println!("build and boot it: cd {shown} && amoeba-build run --profile {name}.toml");
    Ok(ExitCode::SUCCESS)
}

/// `amoeba-build image ELF -o FILE`: the ELF's checks and conversion are the ones `programs`
/// uses for programs/, so an outside program's image is made exactly as ours are.
fn image(elf: &std::path::Path, output: &std::path::Path) -> Result<ExitCode> {
    let bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let image = amoeba_build::programs::image_from_elf(&bytes)
        .with_context(|| format!("{} cannot be a process image", elf.display()))?;
    std::fs::write(output, &image).with_context(|| format!("writing {}", output.display()))?;
    eprintln!(
        "amoeba-build: wrote {} ({} bytes, sha256 {})",
        output.display(),
        image.len(),
        amoeba_build::digest::sha256_hex(&image)
    );
    Ok(ExitCode::SUCCESS)
}

fn fsck(image: &std::path::Path) -> ExitCode {
    let shown = image.display().to_string();
    match fsck::check_image(image, &shown) {
        Ok(check) => {
            print!("{}", check.render(&shown));
            match check.is_clean() {
                true => ExitCode::SUCCESS,
                false => ExitCode::from(1),
            }
        }
        Err(error) => {
            let is_disk_image = error.is_disk_image();
            report(&anyhow::Error::new(error));
            ExitCode::from(if is_disk_image { 1 } else { 2 })
        }
    }
}

impl NicArg {
    fn nic(self) -> Nic {
        match self {
            NicArg::Virtio => Nic::Virtio,
            NicArg::Ne2000 => Nic::Ne2000,
        }
    }
}

/// `--append` words the profile's kernel cannot honour are refused before anything is built.
fn refuse_unusable_words(ws: &Workspace, profile: &str, append: &[String]) -> Result<()> {
    let (profile, spec) = check_profile(ws, profile)?;
    Ok(validate_append(&profile.file, &spec, append)?)
}

fn append_words(append: &Option<String>) -> Vec<String> {
    let words: Vec<String> = append
        .iter()
        .flat_map(|a| a.split_whitespace())
        .map(String::from)
        .collect();
    warn_about_words(&words);
    words
}

/// Builds each profile once, boots every node on the LAN, waits for all of them.
fn cluster(args: &ClusterArgs) -> Result<ExitCode> {
    let ws = workspace()?;
    let members = cluster::members(&args.profiles, args.nodes)?;
    let append = append_words(&args.append);
    for member in &members {
        refuse_unusable_words(&ws, &member.profile, &append)?;
    }
    let images = build_members(&ws, &members, args.nic.nic())?;
    let log_dir = ws.root().join("images").join("cluster");
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create {}", ws.display(&log_dir)))?;
    let options = cluster::ClusterOptions {
        lan_port: args.lan_port,
        nic: args.nic.nic(),
        log_dir: &log_dir,
        append: &append,
    };
    let names: Vec<&str> = images.iter().map(|i| i.spec.node.as_str()).collect();
    cluster::check_names(&members, &names)?;
    if args.lan_port == 0 {
        bail!("--lan-port 0 is not a port every node can share; give one, e.g. 47474");
    }
    let image_refs: Vec<&BuiltImage> = images.iter().collect();
    let mut specs = cluster::plan(&members, &image_refs, &options);
    for (spec, image) in specs
        .iter()
        .zip(cluster::node_images(&members, &image_refs))
    {
        if let (Some(path), Some(built)) = (&spec.disk, &image.disk) {
            prepare_disk(&ws, path, built, args.fresh_disk)?;
        }
    }
    // The accelerator is the machine's: decided (and KVM probed) once, not per node.
    // (`members` refused an empty cluster, so there is a first image.)
    let accel = images
        .first()
        .map_or(Accel::Tcg, |image| accel(args.accel, &image.kernel_elf));
    for spec in &mut specs {
        spec.accel = accel;
    }
    run_cluster(&ws, &specs, args.lan_port)
}

/// Builds each member's profile, warning of those without a driver for the cluster's card.
fn build_members(ws: &Workspace, members: &[cluster::Member], nic: Nic) -> Result<Vec<BuiltImage>> {
    let mut images = Vec::new();
    for member in members {
        let image = build_profile(ws, &member.profile, &BuildOptions::default())
            .with_context(|| format!("building profile {}", member.profile))?;
        if !image.spec.drivers.iter().any(|d| d == nic.driver()) {
            progress(&format!(
                "warning: profile {} has no {} driver: its nodes will not hear the LAN \
                 (add it to [kernel] drivers, or pick another --nic)",
                member.profile,
                nic.driver()
            ));
        }
        images.push(image);
    }
    Ok(images)
}

/// Set by Ctrl-C: no more nodes are started.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Running nodes; whatever is still running when this is dropped (an error midway, a panic)
/// is killed, so no QEMU outlives amoeba-build.
struct RunningNodes(Vec<(String, std::process::Child)>);

impl Drop for RunningNodes {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts every node, then waits for all, reporting each as it ends. Ctrl-C reaches every QEMU
/// (same terminal, same process group) and stops it; amoeba-build stops starting nodes.
fn run_cluster(ws: &Workspace, specs: &[QemuSpec], lan_port: u16) -> Result<ExitCode> {
    use std::sync::atomic::Ordering;
    ctrlc::set_handler(|| STOPPING.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    let mut nodes = RunningNodes(Vec::new());
    for spec in specs {
        if STOPPING.load(Ordering::SeqCst) {
            break;
        }
        let mut cmd = qemu::command(spec);
        cmd.stdin(std::process::Stdio::null());
        let child = cmd.spawn().with_context(|| {
            format!(
                "cannot start {} for node {} (install qemu-system-x86: scripts/setup)",
                qemu::QEMU,
                spec.node
            )
        })?;
        if let Serial::File(log) = &spec.serial {
            progress(&format!(
                "node {}: console in {}",
                spec.node,
                ws.display(log)
            ));
        }
        nodes.0.push((spec.node.clone(), child));
    }
    progress(&format!(
        "{} nodes on the LAN at {}:{lan_port} (Ctrl-C stops them all)",
        nodes.0.len(),
        qemu::LAN_GROUP
    ));
    let mut all_clean = true;
    while !nodes.0.is_empty() {
        let mut index = 0;
        while index < nodes.0.len() {
            let (node, child) = &mut nodes.0[index];
            match child
                .try_wait()
                .with_context(|| format!("waiting for node {node}"))?
            {
                Some(status) => {
                    let outcome = Outcome::from_status(status);
                    progress(&format!("node {node}: {outcome}"));
                    all_clean &= outcome.is_clean();
                    nodes.0.remove(index);
                }
                None => index += 1,
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(if all_clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn accel(choice: AccelArg, kernel: &std::path::Path) -> Accel {
    match choice {
        AccelArg::Tcg => Accel::Tcg,
        AccelArg::Kvm => Accel::Kvm,
        AccelArg::Auto => {
            let (accel, reason) = kvm::choose_accel(kernel);
            if let Some(reason) = reason {
                progress(&format!("using TCG: KVM is not usable here ({reason})"));
            }
            accel
        }
    }
}

/// The kernel skips words it does not understand, and a test may want exactly that, so
/// unknown words are only warned about.
fn warn_about_words(words: &[String]) {
    for result in libamoeba::boot::cmdline::parse(&words.join(" ")) {
        if let Err(e) = result {
            progress(&format!("warning: --append: {e}"));
        }
    }
}

/// Runs QEMU to the end. Ctrl-C reaches QEMU (same terminal, same process group), which then
/// stops the VM; amoeba-build ignores it meanwhile so it can wait and report.
fn run_qemu(ws: &Workspace, spec: &QemuSpec) -> Result<ExitCode> {
    ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    let mut cmd = qemu::command(spec);
    progress(&format!(
        "booting {} ({} boot, {}; Ctrl-C stops the VM)",
        spec.node,
        spec.boot.name(),
        spec.firmware.name()
    ));
    progress(&format!(
        "in {}: {}",
        ws.display(&spec.image_dir),
        amoeba_build::describe_command(&cmd)
    ));
    let status = cmd.status().with_context(|| {
        format!(
            "cannot start {} (install qemu-system-x86: scripts/setup)",
            qemu::QEMU
        )
    })?;
    let outcome = Outcome::from_status(status);
    progress(&format!("node {}: {outcome}", spec.node));
    Ok(if outcome.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Profile problems are printed one per line, each starting with FILE:LINE so editors can jump
/// to them; other errors as `amoeba-build: error: ...` with their causes.
fn report(error: &anyhow::Error) {
    if let Some(problems) = error
        .chain()
        .find_map(|e| e.downcast_ref::<ProfileProblems>())
    {
        for problem in problems.problems() {
            eprintln!("{problem}");
        }
        let count = problems.problems().len();
        let file = problems
            .problems()
            .first()
            .map_or("the profile", |p| p.file.as_str());
        eprintln!(
            "amoeba-build: error: {file}: {count} problem{}; nothing was built",
            if count == 1 { "" } else { "s" }
        );
        return;
    }
    eprintln!("amoeba-build: error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {}", cause.to_string().replace('\n', "\n    "));
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
