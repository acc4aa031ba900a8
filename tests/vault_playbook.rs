//! Vault secrets in a playbook: decrypted in memory, rendered into a 0600
//! .env on a real host, masked in every output mode, absent from argv.

mod support;

use support::Test;

const PB: &str = r#"
- hosts: web
  gather_facts: false
  vars_files:
    - vault/secrets.env.age
  tasks:
    - name: render the app's .env
      copy:
        dest: "{{ scratch }}/app.env"
        content: |
          _APP_DB_USER=appconda
          _APP_DB_PASS={{ DB_PASS }}
        mode: "0600"
    - name: use it in a command
      shell: test "$(grep PASS {{ scratch }}/app.env | cut -d= -f2)" = "{{ DB_PASS }}" && echo "pass is {{ DB_PASS }}"
      register: out
    - debug:
        var: out.stdout
"#;

const SECRET: &str = "s3cret-Passw0rd-for-the-db";

fn setup() -> Test {
    let t = Test::new().hosts(1).playbook(PB);
    let id = t.path("id.txt");
    let st = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&id)
        .output()
        .expect("age-keygen (apt-get install age)");
    assert!(st.status.success());
    let text = std::fs::read_to_string(&id).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    std::fs::create_dir_all(t.path("vault")).unwrap();
    std::fs::write(t.path("vault/recipients.txt"), format!("{public}\n")).unwrap();
    std::fs::write(t.path("vault/secrets.env"), format!("DB_PASS={SECRET}\n")).unwrap();
    let run = t.condaplay(&[
        "vault",
        "encrypt",
        "--identity",
        id.to_str().unwrap(),
        "vault/secrets.env",
    ]);
    run.assert_exit(0);
    assert!(
        !t.path("vault/secrets.env").exists(),
        "plaintext left after encrypt"
    );
    t
}

#[test]
fn a_vault_env_renders_onto_a_host_with_mode_0600_and_stays_masked() {
    let t = setup();
    let id = t.path("id.txt");
    let id = id.to_str().unwrap();
    for args in [
        vec!["--identity", id, "--diff", "-vvv"],
        vec!["--identity", id, "--output", "json"],
    ] {
        let _ = std::fs::remove_file(t.scratch(0).join("app.env"));
        let run = t.run(&args);
        run.assert_exit(0)
            .assert_nowhere(SECRET)
            .assert_stdout_contains("********");
    }
    let env = t.scratch(0).join("app.env");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!("_APP_DB_USER=appconda\n_APP_DB_PASS={SECRET}\n")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Second run: nothing to change, still masked.
    t.run(&["--identity", id])
        .assert_exit(0)
        .assert_nowhere(SECRET);
}

#[test]
fn without_the_identity_the_run_stops_before_connecting() {
    let t = setup();
    let run = t.condaplay(&[
        "run",
        "site.yml",
        "-i",
        "inventory.ini",
        "--identity",
        "/nonexistent/id",
    ]);
    assert_ne!(run.code, 0);
    assert!(!t.scratch(0).join("app.env").exists());
    assert!(run.recap.is_empty());
}
