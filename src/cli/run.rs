//! `hallq run`: the command line of a board. Without a config file it runs the demo hall.

use std::path::PathBuf;
use std::process::ExitCode;

use super::hall_args::HallArgs;
use crate::config::NodeRole;
use crate::node::run::RunSettings;
use crate::ui::ScreenKind;

#[derive(Debug, Clone, clap::Args, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub hall: HallArgs,
    /// Do not simulate citizens and staff in the demo hall.
    #[arg(long)]
    pub no_sim: bool,
    /// Run without opening any screen.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds (for scripted runs).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// This board's roles, comma-separated (hall, kiosk, counter, display); none means all (the demo).
    #[arg(long, value_delimiter = ',')]
    pub role: Vec<NodeRole>,
    /// Screens to open, e.g. `kiosk,window:1,display`; by default the screens of this board's roles
    /// (the demo hall: all three).
    #[arg(long, value_delimiter = ',')]
    pub screens: Option<Vec<ScreenKind>>,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let demo_hall = args.hall.config.is_none();
    let setup = args.hall.setup()?;
    let db_path = if demo_hall {
        args.hall
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("hallq-demo.db"))
    } else {
        args.hall.db_path(&setup)?
    };
    crate::node::run::run(RunSettings {
        setup,
        db_path,
        demo_hall,
        simulate_people: !args.no_sim,
        headless: args.headless,
        seconds: args.seconds,
        roles: args.role,
        screens: args.screens,
    })
}
