/**
 * The frame of every page: a header (product, language, user, logout), the navigation and
 * the main region. `PublicLayout` is the lighter frame of the login, setup and first-login
 * pages.
 */
import { Anchor, AppShell, Badge, Box, Burger, Button, Container, Group, NavLink, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionUser } from '../features/auth/session.ts';
import { useLogout } from '../features/auth/useLogout.ts';
import { FindingAlerts } from '../features/findings/FindingAlerts.tsx';
import { ErrorAlert } from '../ui/ErrorAlert.tsx';
import { LanguageSwitch } from '../ui/LanguageSwitch.tsx';
import { NAV_ITEMS, type Section } from './navigation.ts';
import { linkProps, useLocation } from './router.tsx';

const SECTIONS: Array<{ id: Section; label: 'nav.sections.reading' | 'nav.sections.administration' | 'nav.sections.account' }> = [
  { id: 'reading', label: 'nav.sections.reading' },
  { id: 'administration', label: 'nav.sections.administration' },
  { id: 'account', label: 'nav.sections.account' },
];

function SkipLink() {
  const { t } = useTranslation();
  return (
    <a href="#main" className="enkaku-skip-link">
      {t('app.skipToContent')}
    </a>
  );
}

function Brand() {
  const { t } = useTranslation();
  return (
    <Anchor {...linkProps('/')} underline="never" c="inherit" fw={700} fz="lg" data-testid="brand">
      {t('app.name')}
    </Anchor>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const user = useSessionUser();
  const logout = useLogout();
  const { pathname } = useLocation();
  const [navOpened, { toggle, close }] = useDisclosure(false);
  const items = NAV_ITEMS.filter((item) => item.visible(user));

  const navLink = (item: (typeof items)[number]) => {
    const active = pathname === item.path;
    const link = linkProps(item.path);
    return (
      <NavLink
        key={item.path}
        component="a"
        href={link.href}
        onClick={(event) => {
          link.onClick(event);
          close();
        }}
        label={t(item.label)}
        active={active}
        aria-current={active ? 'page' : undefined}
        rightSection={
          item.comingSoon ? (
            <Badge size="xs" variant="outline" color="gray" tt="none">
              {t('common.comingSoon')}
            </Badge>
          ) : null
        }
        data-testid={item.testId}
      />
    );
  };

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 248, breakpoint: 'sm', collapsed: { mobile: !navOpened } }}
      padding="lg"
    >
      <AppShell.Header>
        <SkipLink />
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={navOpened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={navOpened ? t('nav.close') : t('nav.open')}
              aria-controls="main-navigation"
              aria-expanded={navOpened}
            />
            <Brand />
          </Group>
          <Group gap="sm" wrap="nowrap">
            <LanguageSwitch />
            <Text size="sm" visibleFrom="xs" data-testid="current-user">
              {user.displayName}
            </Text>
            <Button variant="default" size="compact-sm" onClick={() => logout.mutate()} loading={logout.isPending} data-testid="logout">
              {t('logout.action')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" id="main-navigation" aria-label={t('nav.label')}>
        <Stack gap="md">
          <Box>{items.filter((item) => item.section === null).map(navLink)}</Box>
          {SECTIONS.map((section) => {
            const sectionItems = items.filter((item) => item.section === section.id);
            if (sectionItems.length === 0) return null;
            return (
              <Box key={section.id} role="group" aria-labelledby={`nav-section-${section.id}`}>
                <Text id={`nav-section-${section.id}`} size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" mb={4}>
                  {t(section.label)}
                </Text>
                {sectionItems.map(navLink)}
              </Box>
            );
          })}
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1} style={{ outline: 'none' }}>
        {logout.error ? (
          <Box mb="md">
            <ErrorAlert error={logout.error} title={t('logout.failed')} />
          </Box>
        ) : null}
        {children}
      </AppShell.Main>
      {/* Critical / urgent / incidental finding alerts on every logged-in screen (C1). */}
      <FindingAlerts />
    </AppShell>
  );
}

/** The frame of the pages shown before the application (login, setup, agreement, forced password change). */
export function PublicLayout({ children, wide = false }: { children: ReactNode; wide?: boolean }) {
  return (
    <Box mih="100vh" bg="var(--mantine-color-gray-0)">
      <SkipLink />
      <Box component="header" px="md" py="sm" bg="var(--mantine-color-body)" style={{ borderBottom: '1px solid var(--mantine-color-gray-3)' }}>
        <Group justify="space-between" wrap="nowrap">
          <Brand />
          <LanguageSwitch />
        </Group>
      </Box>
      <Container size={wide ? 'md' : 'xs'} py="xl" component="main" id="main" tabIndex={-1} style={{ outline: 'none' }}>
        {children}
      </Container>
    </Box>
  );
}
