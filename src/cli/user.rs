//! `folio user create`: the way the first admin comes to exist.

use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand};

use super::{CommandError, connect};
use crate::config::Settings;
use crate::entity::enums::UserRole;
use crate::service::ServiceError;
use crate::service::accounts::{self, Registration};
use crate::service::auth::password::Hasher;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from a prompt, or from standard input
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    email: String,
    /// Make the account an admin
    #[arg(long)]
    admin: bool,
    /// Read the password from the first line of standard input (for scripts), never from the
    /// command line, where other users of the machine could see it
    #[arg(long)]
    password_stdin: bool,
}

pub async fn run(command: UserCommand, settings: &Settings) -> Result<(), CommandError> {
    let UserCommand::Create(args) = command;
    let password = read_password(args.password_stdin)?;
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let role = if args.admin {
        UserRole::Admin
    } else {
        UserRole::Reader
    };
    let form = Registration {
        username: args.username,
        email: args.email,
        password,
        referral_code: None,
    };
    let created = accounts::register_with_role(&db, &Hasher::default(), form, role, None).await;
    db.close().await;
    let user = created.map_err(explain)?;
    let role = if args.admin { "admin" } else { "reader" };
    println!("Created {role} '{}' (id {}).", user.username, user.id);
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String, CommandError> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CommandError::failed(format!("cannot read the password: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(CommandError::usage(
                "no terminal to ask for the password on; pass --password-stdin and pipe it in",
            ));
        }
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| CommandError::failed(format!("cannot read the password: {e}")))?;
        let again = rpassword::prompt_password("Password (again): ")
            .map_err(|e| CommandError::failed(format!("cannot read the password: {e}")))?;
        if first != again {
            return Err(CommandError::usage("the passwords differ"));
        }
        first
    };
    Ok(password)
}

/// One line per problem, naming the field, as the API would.
fn explain(err: ServiceError) -> CommandError {
    match err {
        ServiceError::Validation(errors) => CommandError::usage(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ServiceError::Conflict { field, .. } => {
            CommandError::failed(format!("{field}: already taken by another account"))
        }
        other => CommandError::failed(other.to_string()),
    }
}
